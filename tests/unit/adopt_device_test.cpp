// adopt_device(): descriptors opened by someone else (the privilege-
// separation monitor) wrapped in a backend's I/O. Needs root for a real tap
// in a throwaway network namespace; the root test returns without checking
// anything otherwise. The checks of bad requests run everywhere.
#if defined(__linux__)

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "catch.hpp"
#include "tunnel/device.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;
constexpr std::uint16_t kTestEthertype = 0x88b5; // IEEE local experimental

class ThrowawayNetns {
public:
    ThrowawayNetns()
    {
        original_.reset(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
        if (original_ && ::unshare(CLONE_NEWNET) == 0) entered_ = true;
    }
    ~ThrowawayNetns()
    {
        if (entered_) (void)::setns(original_.get(), CLONE_NEWNET);
    }
    bool entered() const { return entered_; }

private:
    feth::UniqueFd original_;
    bool entered_ = false;
};

Bytes test_frame(std::uint8_t fill)
{
    Bytes f(14 + 50, fill);
    std::memset(f.data(), 0xff, 6);
    const std::uint8_t src[6] = {0x02, 0, 0, 0, 0, fill};
    std::memcpy(f.data() + 6, src, 6);
    f[12] = static_cast<std::uint8_t>(kTestEthertype >> 8);
    f[13] = static_cast<std::uint8_t>(kTestEthertype & 0xff);
    return f;
}

struct Collect final : feth::FrameSink {
    std::vector<Bytes> frames;
    bool on_frame(std::span<const std::uint8_t> frame) override
    {
        if (frame.size() >= 14 && frame[12] == (kTestEthertype >> 8) && frame[13] == (kTestEthertype & 0xff))
            frames.emplace_back(frame.begin(), frame.end());
        return true;
    }
};

bool wait_readable(int fd, int ms)
{
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) == 1;
}

void set_up(const std::string& name)
{
    feth::UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    REQUIRE(s);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    REQUIRE(::ioctl(s.get(), SIOCGIFFLAGS, &ifr) == 0);
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    REQUIRE(::ioctl(s.get(), SIOCSIFFLAGS, &ifr) == 0);
}

feth::UniqueFd dup_of(int fd)
{
    return feth::UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
}

} // namespace

TEST_CASE("adopt_device: refuses unknown backends and wrong descriptor counts", "[adopt]")
{
    feth::AdoptRequest unknown;
    unknown.backend = "utun"; // not on Linux
    unknown.mode = feth::TunMode::PointToPoint;
    unknown.name = "utun3";
    unknown.fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    CHECK_THROWS_AS(feth::adopt_device(std::move(unknown)), feth::InputError);

    feth::AdoptRequest wrong_mode;
    wrong_mode.backend = "pair";
    wrong_mode.mode = feth::TunMode::PointToPoint;
    wrong_mode.name = "feth0";
    CHECK_THROWS_AS(feth::adopt_device(std::move(wrong_mode)), feth::InputError);

    feth::AdoptRequest too_few;
    too_few.backend = "pair";
    too_few.mode = feth::TunMode::Ethernet;
    too_few.name = "feth0";
    too_few.io_name = "feth5000";
    too_few.fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    CHECK_THROWS_AS(feth::adopt_device(std::move(too_few)), feth::InputError);

    feth::AdoptRequest not_a_tap;
    not_a_tap.backend = "tap";
    not_a_tap.mode = feth::TunMode::Ethernet;
    not_a_tap.name = "tap0";
    not_a_tap.fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    CHECK_THROWS_AS(feth::adopt_device(std::move(not_a_tap)), feth::SystemError);
}

TEST_CASE("adopt_device: an adopted tap moves frames both ways and removes nothing", "[root][adopt]")
{
    if (::geteuid() != 0) return;
    ThrowawayNetns netns;
    if (!netns.entered()) return;

    auto opener = feth::open_device(feth::DeviceRequest{feth::TunMode::Ethernet, feth::kTunUnitAny, "tap", 0});
    REQUIRE(std::string(opener->backend()) == "tap");
    const std::string name = opener->name();
    set_up(name);

    // A kind mismatch is refused: this fd is a tap, not a tun.
    {
        feth::AdoptRequest as_tun;
        as_tun.backend = "tun";
        as_tun.mode = feth::TunMode::PointToPoint;
        as_tun.name = name;
        as_tun.fds.push_back(dup_of(opener->read_fd()));
        CHECK_THROWS_AS(feth::adopt_device(std::move(as_tun)), feth::InputError);
    }

    feth::AdoptRequest request;
    request.backend = opener->backend();
    request.mode = opener->mode();
    request.name = name;
    request.io_name = opener->io_name();
    request.fds.push_back(dup_of(opener->read_fd()));
    auto adopted = feth::adopt_device(std::move(request));
    CHECK(adopted->name() == name);
    CHECK(adopted->io_name().empty());
    CHECK(std::string(adopted->backend()) == "tap");
    CHECK(adopted->mode() == feth::TunMode::Ethernet);
    CHECK_FALSE(adopted->created());
    CHECK(adopted->read_fd() == adopted->write_fd());
    CHECK((::fcntl(adopted->read_fd(), F_GETFL) & O_NONBLOCK) != 0);

    // The far side: a packet socket on the tap.
    feth::UniqueFd sniff(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(kTestEthertype)));
    REQUIRE(sniff);
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(kTestEthertype);
    addr.sll_ifindex = static_cast<int>(::if_nametoindex(name.c_str()));
    REQUIRE(addr.sll_ifindex != 0);
    REQUIRE(::bind(sniff.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);

    // Device -> interface: the kernel receives what the adopted fd writes.
    const Bytes in = test_frame(0x5a);
    REQUIRE(adopted->write_frame(in) == feth::WriteResult::Written);
    REQUIRE(wait_readable(sniff.get(), 2000));
    Bytes got(2048);
    ssize_t n = ::recv(sniff.get(), got.data(), got.size(), 0);
    REQUIRE(n == static_cast<ssize_t>(in.size()));
    got.resize(static_cast<std::size_t>(n));
    CHECK(got == in);

    // Interface -> device: what the kernel sends out of the tap is read.
    const Bytes out = test_frame(0xa5);
    REQUIRE(::sendto(sniff.get(), out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr) ==
            static_cast<ssize_t>(out.size()));
    Collect sink;
    for (int i = 0; i < 20 && sink.frames.empty(); ++i) {
        if (wait_readable(adopted->read_fd(), 100)) adopted->read_frames(sink, 16);
    }
    REQUIRE(sink.frames.size() == 1);
    CHECK(sink.frames[0] == out);

    // Dropping the adopted device leaves the interface to its opener.
    adopted.reset();
    CHECK(::if_nametoindex(name.c_str()) != 0);
    opener.reset();
    CHECK(::if_nametoindex(name.c_str()) == 0);
}

TEST_CASE("adopt_device: an adopted pair gets the I/O only", "[root][adopt][pair]")
{
    if (::geteuid() != 0) return;
    ThrowawayNetns netns;
    if (!netns.entered()) return;

    auto opener = feth::open_device(feth::DeviceRequest{feth::TunMode::Ethernet, feth::kTunUnitAny, "pair", 0});
    REQUIRE(std::string(opener->backend()) == "pair");
    REQUIRE(opener->created());
    const std::string name = opener->name();

    feth::AdoptRequest request;
    request.backend = opener->backend();
    request.mode = opener->mode();
    request.name = name;
    request.io_name = opener->io_name();
    request.fds.push_back(dup_of(opener->read_fd()));
    request.fds.push_back(dup_of(opener->write_fd()));
    auto adopted = feth::adopt_device(std::move(request));
    CHECK(adopted->name() == name);
    CHECK(adopted->io_name() == opener->io_name());
    CHECK_FALSE(adopted->created());

    // The user's side: a packet socket on the visible end.
    feth::UniqueFd user(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(kTestEthertype)));
    REQUIRE(user);
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(kTestEthertype);
    addr.sll_ifindex = static_cast<int>(::if_nametoindex(name.c_str()));
    REQUIRE(addr.sll_ifindex != 0);
    REQUIRE(::bind(user.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);

    const Bytes in = test_frame(0x11);
    REQUIRE(adopted->write_frame(in) == feth::WriteResult::Written);
    REQUIRE(wait_readable(user.get(), 2000));
    Bytes got(2048);
    ssize_t n = ::recv(user.get(), got.data(), got.size(), 0);
    REQUIRE(n == static_cast<ssize_t>(in.size()));
    got.resize(static_cast<std::size_t>(n));
    CHECK(got == in);

    const Bytes out = test_frame(0x22);
    REQUIRE(::sendto(user.get(), out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr) ==
            static_cast<ssize_t>(out.size()));
    Collect sink;
    for (int i = 0; i < 20 && sink.frames.empty(); ++i) {
        if (wait_readable(adopted->read_fd(), 100)) adopted->read_frames(sink, 16);
    }
    REQUIRE(sink.frames.size() == 1);
    CHECK(sink.frames[0] == out);

    adopted.reset();
    CHECK(::if_nametoindex(name.c_str()) != 0);
    opener.reset();
    CHECK(::if_nametoindex(name.c_str()) == 0);
}

#endif
