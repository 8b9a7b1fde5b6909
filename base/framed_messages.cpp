#include "base/framed_messages.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "base/byte_order.hpp"

namespace feth::framing {

InputError Message::field_error(const std::string& problem) const
{
    return InputError("message type " + std::to_string(type_) + ": " + problem);
}

void Message::put_u32(std::uint32_t v)
{
    std::uint8_t b[4];
    store_be32(b, v);
    payload_.insert(payload_.end(), b, b + 4);
}

void Message::put_u64(std::uint64_t v)
{
    put_u32(static_cast<std::uint32_t>(v >> 32));
    put_u32(static_cast<std::uint32_t>(v));
}

void Message::put_string(std::string_view s)
{
    put_u32(static_cast<std::uint32_t>(s.size()));
    payload_.insert(payload_.end(), s.begin(), s.end());
}

std::uint32_t Message::get_u32()
{
    if (payload_.size() - pos_ < 4) throw field_error("truncated uint32");
    std::uint32_t v = load_be32(payload_.data() + pos_);
    pos_ += 4;
    return v;
}

std::uint64_t Message::get_u64()
{
    if (payload_.size() - pos_ < 8) throw field_error("truncated uint64");
    const std::uint64_t high = get_u32();
    return high << 32 | get_u32();
}

std::string Message::get_string(std::size_t max)
{
    std::uint32_t len = get_u32();
    if (len > max) throw field_error("string of " + std::to_string(len) + " bytes (limit " +
                                    std::to_string(max) + ")");
    if (payload_.size() - pos_ < len) throw field_error("truncated string");
    std::string s(reinterpret_cast<const char*>(payload_.data() + pos_), len);
    pos_ += len;
    return s;
}

void Message::expect_end() const
{
    if (pos_ != payload_.size())
        throw field_error(std::to_string(payload_.size() - pos_) + " trailing bytes");
}

void send_message(int sock, const Message& msg, const char* peer, TypeNamer names)
{
    if (msg.payload().size() > kMaxPayload) throw InputError(std::string(peer) + ": message too large to send");
    if (msg.send_fds().size() > kMaxFds) throw InputError(std::string(peer) + ": too many fds to send");
    std::uint8_t header[8];
    store_be32(header, msg.type());
    store_be32(header + 4, static_cast<std::uint32_t>(msg.payload().size()));

    std::vector<std::uint8_t> all(header, header + 8);
    all.insert(all.end(), msg.payload().begin(), msg.payload().end());

    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int) * kMaxFds)> control{};
    std::size_t sent = 0;
    bool fds_pending = !msg.send_fds().empty();
    while (sent < all.size()) {
        iovec iov{all.data() + sent, all.size() - sent};
        msghdr mh{};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        if (fds_pending) {
            const std::size_t n = msg.send_fds().size();
            mh.msg_control = control.data();
            mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
            cmsghdr* cm = CMSG_FIRSTHDR(&mh);
            cm->cmsg_level = SOL_SOCKET;
            cm->cmsg_type = SCM_RIGHTS;
            cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
            std::memcpy(CMSG_DATA(cm), msg.send_fds().data(), sizeof(int) * n);
        }
        // Without descriptors, send(): the unprivileged sides' sandboxes
        // allow no sendmsg at all (server/sandbox_linux.cpp), so they can
        // attach none.
        ssize_t n = fds_pending ? ::sendmsg(sock, &mh, MSG_NOSIGNAL) : ::send(sock, iov.iov_base, iov.iov_len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            const char* name = names != nullptr ? names(msg.type()) : nullptr;
            throw_errno(std::string("sending ") + (name != nullptr ? name : "message " + std::to_string(msg.type())) +
                            " to " + peer,
                        fds_pending ? "sendmsg" : "send");
        }
        fds_pending = false;
        sent += static_cast<std::size_t>(n);
    }
}

namespace {

using Clock = std::chrono::steady_clock;

// Waits until `sock` is readable or the deadline passed (false).
bool wait_readable(int sock, Clock::time_point deadline)
{
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{sock, POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left + 1, 60 * 1000)));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) throw_errno("waiting for a message", "poll");
    }
}

// Reads exactly `len` bytes, collecting descriptors (when the options allow
// them). Returns false on EOF before the first byte when `eof_ok`. `part`
// names what is read, for the errors.
bool read_exact(int sock, std::uint8_t* buf, std::size_t len, std::vector<UniqueFd>& fds, bool eof_ok,
                const char* peer, const RecvOptions& options, const char* part)
{
    std::size_t got = 0;
    while (got < len) {
        if (options.deadline && !wait_readable(sock, *options.deadline))
            throw MessageTimeout(std::string(peer) + ": no whole message in time (" + std::to_string(got) + " of " +
                                 std::to_string(len) + " " + part + " bytes)");
        alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int) * (kMaxFds + 2))> control{};
        iovec iov{buf + got, len - got};
        msghdr mh{};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        if (options.descriptors) {
            mh.msg_control = control.data();
            mh.msg_controllen = control.size();
        }
        int flags = 0;
#ifdef MSG_CMSG_CLOEXEC
        flags |= MSG_CMSG_CLOEXEC;
#endif
        ssize_t n = ::recvmsg(sock, &mh, flags);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno(std::string("receiving from ") + peer, "recvmsg");
        }
        // Take ownership of every descriptor first, so that none leaks
        // whatever the checks below decide.
        if (options.descriptors) {
            for (cmsghdr* cm = CMSG_FIRSTHDR(&mh); cm != nullptr; cm = CMSG_NXTHDR(&mh, cm)) {
                if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
                std::size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (std::size_t i = 0; i < count; ++i) {
                    int fd = -1;
                    std::memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
                    fds.emplace_back(fd);
                }
            }
        }
        if ((mh.msg_flags & MSG_CTRUNC) != 0) {
            // Without a control buffer the kernel has discarded what came
            // along; it never became a descriptor of ours.
            if (!options.descriptors)
                throw InputError(std::string(peer) + ": sent a descriptor or credentials, which the monitor refuses");
            throw InputError(std::string(peer) + ": descriptors truncated");
        }
        if (n == 0) {
            if (got == 0 && eof_ok) return false;
            throw InputError(std::string(peer) + ": connection closed inside a message (" + std::to_string(got) +
                             " of " + std::to_string(len) + " " + part + " bytes)");
        }
        got += static_cast<std::size_t>(n);
    }
    return true;
}

} // namespace

bool recv_message(int sock, Message& msg, const char* peer, const RecvOptions& options)
{
    msg = Message();
    std::uint8_t header[8];
    if (!read_exact(sock, header, sizeof header, msg.fds(), true, peer, options, "header")) return false;
    msg.set_type(load_be32(header));
    std::uint32_t len = load_be32(header + 4);
    if (len > kMaxPayload)
        throw InputError(std::string(peer) + ": message of " + std::to_string(len) + " bytes (limit " +
                         std::to_string(kMaxPayload) + ")");
    msg.payload().resize(len);
    if (len != 0) read_exact(sock, msg.payload().data(), len, msg.fds(), false, peer, options, "payload");
    if (msg.fds().size() > kMaxFds) throw InputError(std::string(peer) + ": too many descriptors in one message");
    return true;
}

// SO_PASSRIGHTS is new (Linux 6.16); older C libraries do not name it. 83
// is asm-generic's number, which these architectures use.
#if defined(__linux__) && !defined(SO_PASSRIGHTS) &&                                                           \
    (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || defined(__arm__) || defined(__riscv))
#define SO_PASSRIGHTS 83
#endif

bool refuse_descriptors_in_kernel(int sock)
{
#if defined(SO_PASSRIGHTS)
    int off = 0;
    return ::setsockopt(sock, SOL_SOCKET, SO_PASSRIGHTS, &off, sizeof off) == 0;
#else
    (void)sock;
    return false;
#endif
}

} // namespace feth::framing
