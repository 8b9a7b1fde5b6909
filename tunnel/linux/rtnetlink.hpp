// The few rtnetlink requests the Linux backends make (veth pairs in
// veth_pair.cpp, the removal of tap/tun devices in tuntap_device.cpp):
// one request per socket, answered by the kernel's acknowledgement.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace feth::backends::rtnl {

// A request under construction: header, fixed part, attributes (nests
// allowed). Every request asks for an acknowledgement.
class Message {
public:
    Message(std::uint16_t type, std::uint16_t flags);

    void append(const void* data, std::size_t len);
    void attr(std::uint16_t type, const void* data, std::size_t len);
    void attr_string(std::uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
    void attr_u32(std::uint16_t type, std::uint32_t v) { attr(type, &v, sizeof v); }

    std::size_t begin_nest(std::uint16_t type);
    void end_nest(std::size_t at);

    // Sets length and sequence number; the bytes to send.
    std::vector<std::uint8_t>& finish(std::uint32_t seq);

private:
    std::vector<std::uint8_t> buf_;
};

// Appends an ifinfomsg (AF_UNSPEC) for `index`.
void ifinfo(Message& m, int index, unsigned flags = 0, unsigned change = 0);

// Sends one request and waits for its acknowledgement. Returns 0 or the
// kernel's errno; throws SystemError naming `what` when the socket itself
// fails.
int request(Message& message, const std::string& what);

// RTM_DELLINK by index. Returns 0 or the kernel's errno (ENODEV: no such
// interface). Removes a tap or tun device even while descriptors are
// attached to it and whatever TUNSETPERSIST says.
int delete_link(int index);

} // namespace feth::backends::rtnl
