// SSH wire fields (RFC 4251 section 5), what the ssh-agent protocol, the
// openssh-key-v1 container and host certificates are made of: one reader
// and two writers for the root part's agent, AddKeysToAgent and the host
// certificate parser. The reader takes hostile bytes: every read checks
// what is left first and throws Truncated on short input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace feth::client::ssh_wire {

class Truncated : public std::runtime_error {
public:
    Truncated() : std::runtime_error("truncated") {}
};

class Reader {
public:
    explicit Reader(std::string_view data) : data_(data) {}
    std::uint8_t byte() { return static_cast<std::uint8_t>(bytes(1)[0]); }
    std::uint32_t u32()
    {
        const std::string_view b = bytes(4);
        std::uint32_t v = 0;
        for (char c : b) v = (v << 8) | static_cast<std::uint8_t>(c);
        return v;
    }
    std::uint64_t u64()
    {
        const std::uint64_t high = u32();
        return (high << 32) | u32();
    }
    std::string_view string()
    {
        const std::uint32_t n = u32();
        return bytes(n);
    }
    // A string that may hold no NUL byte (OpenSSH's sshbuf_get_cstring).
    std::string_view text()
    {
        const std::string_view s = string();
        if (s.find('\0') != std::string_view::npos) throw Truncated();
        return s;
    }
    std::string_view bytes(std::size_t n)
    {
        if (left() < n) throw Truncated();
        const std::string_view s = data_.substr(pos_, n);
        pos_ += n;
        return s;
    }
    std::size_t left() const { return data_.size() - pos_; }
    std::size_t pos() const { return pos_; }

private:
    std::string_view data_;
    std::size_t pos_ = 0;
};

inline void put_u32(std::string& out, std::uint32_t v)
{
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

inline void put_string(std::string& out, std::string_view s)
{
    put_u32(out, static_cast<std::uint32_t>(s.size()));
    out.append(s);
}

} // namespace feth::client::ssh_wire
