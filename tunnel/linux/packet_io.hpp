// The packet I/O of the "pair" backend: frames in and out of a veth pair's
// I/O end through two AF_PACKET sockets, like bpf + NDRV on macOS
// (tunnel/darwin/bpf_reader.cpp, ndrv_writer.cpp). Owns the sockets, not
// the interfaces: this is all a privilege-separated child gets.
#pragma once

#include <linux/if_packet.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tunnel/device.hpp"
#include "base/fd.hpp"
#include "tunnel/wire.hpp"

namespace feth::backends::packet {

struct PacketSockets {
    UniqueFd read;
    UniqueFd write;
};

// The two AF_PACKET sockets on the I/O end `peer` (`visible` names the
// pair in errors).
PacketSockets open_packet_sockets(const std::string& visible, const std::string& peer);

// Checks that an adopted descriptor is an AF_PACKET socket and makes it
// non-blocking and close-on-exec; throws InputError naming `what`.
void expect_packet_socket(int fd, const std::string& what);

// Frames in and out of the I/O end through two AF_PACKET sockets, reads
// batched with recvmmsg.
class PacketIo {
public:
    PacketIo(std::string peer, PacketSockets sockets);
    ~PacketIo();

    int read_fd() const { return read_fd_.get(); }
    int write_fd() const { return write_fd_.get(); }

    std::size_t read_frames(FrameSink& sink, std::size_t max_frames);
    WriteResult write_frame(std::span<const std::uint8_t> frame);

private:
    static constexpr std::size_t kBatch = 32;
    static constexpr std::size_t kSlot = wire::kMaxFrame;

    std::string peer_;
    UniqueFd read_fd_;
    UniqueFd write_fd_;
    std::vector<std::uint8_t> buffers_;
    std::array<iovec, kBatch> iov_{};
    std::array<mmsghdr, kBatch> msgs_{};
    std::array<sockaddr_ll, kBatch> from_{};
    std::size_t received_ = 0; // frames in the current recvmmsg batch
    std::size_t next_ = 0;     // the next of them to hand out
    std::uint64_t oversized_ = 0;
};

} // namespace feth::backends::packet
