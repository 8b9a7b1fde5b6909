// Turns signals into readable bytes on a pipe, so that event loops learn of
// them through poll() instead of racing a flag against a blocking wait.
#pragma once

#include <csignal>
#include <initializer_list>
#include <vector>

#include "fd.hpp"

namespace feth {

class SignalPipe {
public:
    // Installs handlers for `signals` that write the signal number to the pipe.
    explicit SignalPipe(std::initializer_list<int> signals);
    ~SignalPipe();
    SignalPipe(const SignalPipe&) = delete;
    SignalPipe& operator=(const SignalPipe&) = delete;

    int fd() const { return read_end_.get(); }
    // Returns the next pending signal number, or 0 when none is pending.
    int next();
    // In a forked child: restore default handlers and close the pipe, so the
    // child starts clean and sets up its own.
    void release_in_child();

private:
    UniqueFd read_end_;
    UniqueFd write_end_;
    std::vector<int> signals_;
};

} // namespace feth
