// Errors carry their context: which device, peer or file, which syscall, and
// the errno text, so that a log line alone says what went wrong.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>

namespace feth {

class SystemError : public std::runtime_error {
public:
    // "<context>: <syscall>: <strerror(err)>"
    SystemError(const std::string& context, const char* syscall, int err);
    int code() const noexcept { return code_; }

private:
    int code_;
};

// Throws SystemError with the current errno.
[[noreturn]] void throw_errno(const std::string& context, const char* syscall);

// A problem with input (config, peer data, command line): no errno involved.
class InputError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

std::string errno_text(int err);

} // namespace feth
