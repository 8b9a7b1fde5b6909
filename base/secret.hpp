// Secrets in memory (host key text): wiped before the memory is freed, in a
// way the compiler may not drop (explicit_bzero; memset_s on macOS, which
// has no explicit_bzero).
#pragma once

#include <cstddef>
#include <string>

namespace feth {

void burn(void* data, std::size_t size) noexcept;

// A string that burns its bytes when destroyed or replaced. Move only: a
// copy would be one more place the secret lives.
class SecretText {
public:
    SecretText() = default;
    explicit SecretText(std::string text) : text_(std::move(text)) {}
    SecretText(SecretText&& other) noexcept : text_(std::move(other.text_)) { other.wipe(); }
    SecretText& operator=(SecretText&& other) noexcept
    {
        if (this != &other) {
            wipe();
            text_ = std::move(other.text_);
            other.wipe();
        }
        return *this;
    }
    SecretText(const SecretText&) = delete;
    SecretText& operator=(const SecretText&) = delete;
    ~SecretText() { wipe(); }

    const std::string& str() const { return text_; }
    const char* c_str() const { return text_.c_str(); }
    bool empty() const { return text_.empty(); }
    std::size_t size() const { return text_.size(); }

private:
    void wipe() noexcept
    {
        burn(text_.data(), text_.capacity());
        text_.clear();
    }
    std::string text_;
};

} // namespace feth
