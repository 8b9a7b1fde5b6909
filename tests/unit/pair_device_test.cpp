// The Linux "pair" backend for real: veth pairs in a throwaway network
// namespace. Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN for unshare); the
// test returns without checking anything otherwise. Run only these with
// `unit_tests [root]`.
#if defined(__linux__)

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "catch.hpp"
#include "tunnel/device.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

// Moves this thread into a fresh network namespace and back again on scope
// exit; the namespace disappears with its last interface and socket.
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

bool can_run()
{
    return ::geteuid() == 0;
}

Bytes test_frame(std::uint16_t ethertype, std::uint8_t fill)
{
    Bytes f(14 + 50, fill);
    std::memset(f.data(), 0xff, 6); // broadcast, so any receiver accepts it
    const std::uint8_t src[6] = {0x02, 0, 0, 0, 0, fill};
    std::memcpy(f.data() + 6, src, 6);
    f[12] = static_cast<std::uint8_t>(ethertype >> 8);
    f[13] = static_cast<std::uint8_t>(ethertype);
    return f;
}

struct Collect final : feth::FrameSink {
    std::vector<Bytes> frames;
    bool on_frame(std::span<const std::uint8_t> frame) override
    {
        frames.emplace_back(frame.begin(), frame.end());
        return true;
    }
};

bool wait_readable(int fd, int ms)
{
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) == 1;
}

// Reads from the device for up to `ms` until `wanted` shows up.
bool device_reads(feth::Device& dev, const Bytes& wanted, int ms)
{
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) {
        if (!wait_readable(dev.read_fd(), 50)) continue;
        Collect c;
        dev.read_frames(c, 64);
        if (std::find(c.frames.begin(), c.frames.end(), wanted) != c.frames.end()) return true;
    }
    return false;
}

// A raw socket on the visible interface, as another program would use it.
feth::UniqueFd raw_socket_on(const std::string& ifname)
{
    feth::UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL)));
    REQUIRE(fd);
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
    REQUIRE(addr.sll_ifindex != 0);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    return fd;
}

bool is_up(const std::string& ifname)
{
    feth::UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    return s && ::ioctl(s.get(), SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP) != 0;
}

} // namespace

TEST_CASE("pair backend: a veth pair carries frames both ways", "[root][pair]")
{
    if (!can_run()) return;
    ThrowawayNetns netns;
    if (!netns.entered()) return; // no CAP_SYS_ADMIN here

    feth::DeviceRequest req;
    req.mode = feth::TunMode::Ethernet;
    req.backend = "pair";
    req.mtu = 9000;
    auto dev = feth::open_device(req);
    REQUIRE(dev);
    CHECK(dev->name() == "feth0");
    CHECK(dev->io_name() == "feth5000");
    CHECK(dev->created());
    CHECK(dev->read_fd() != dev->write_fd());
    CHECK(::if_nametoindex("feth0") != 0);
    CHECK(::if_nametoindex("feth5000") != 0);
    CHECK(is_up("feth0"));
    CHECK(is_up("feth5000"));

    auto visible = raw_socket_on("feth0");

    SECTION("a frame sent on the visible end is read from the device")
    {
        Bytes f = test_frame(0x88b5, 0x11);
        REQUIRE(::send(visible.get(), f.data(), f.size(), 0) == static_cast<ssize_t>(f.size()));
        CHECK(device_reads(*dev, f, 2000));
    }
    SECTION("a large frame within the MTU crosses whole")
    {
        Bytes f = test_frame(0x88b5, 0x22);
        f.resize(14 + 8000, 0x5a);
        REQUIRE(::send(visible.get(), f.data(), f.size(), 0) == static_cast<ssize_t>(f.size()));
        CHECK(device_reads(*dev, f, 2000));
    }
    SECTION("a frame written to the device arrives on the visible end, and is not read back")
    {
        Bytes f = test_frame(0x88b6, 0x33);
        REQUIRE(dev->write_frame(f) == feth::WriteResult::Written);
        bool arrived = false;
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (!arrived && std::chrono::steady_clock::now() < until) {
            if (!wait_readable(visible.get(), 50)) continue;
            Bytes buf(20000);
            sockaddr_ll from{};
            socklen_t len = sizeof from;
            ssize_t n = ::recvfrom(visible.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n <= 0) continue;
            buf.resize(static_cast<std::size_t>(n));
            arrived = buf == f && from.sll_pkttype != PACKET_OUTGOING;
        }
        CHECK(arrived);
        CHECK_FALSE(device_reads(*dev, f, 300));
    }
    SECTION("a second tunnel picks the next free pair")
    {
        auto second = feth::open_device(req);
        CHECK(second->name() == "feth1");
        CHECK(second->io_name() == "feth5001");
        second.reset();
        CHECK(::if_nametoindex("feth1") == 0);
        CHECK(::if_nametoindex("feth5001") == 0);
    }

    visible.reset();
    dev.reset();
    CHECK(::if_nametoindex("feth0") == 0);
    CHECK(::if_nametoindex("feth5000") == 0);
}

// A process that opened `unit` and died without cleaning up (SIGKILL): its
// pair stays, its reservation goes with it.
static void leave_pair_behind(std::uint32_t unit)
{
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        try {
            feth::DeviceRequest req(feth::TunMode::Ethernet, unit, "pair", 0);
            auto dev = feth::open_device(req);
            ::_exit(dev->created() ? 0 : 1);
        } catch (...) {
            ::_exit(2);
        }
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

TEST_CASE("pair backend: one owner per unit; an existing pair only when asked; leftovers removed", "[root][pair]")
{
    if (!can_run()) return;
    ThrowawayNetns netns;
    if (!netns.entered()) return;

    feth::DeviceRequest req(feth::TunMode::Ethernet, 0, "pair", 0);
    req.owner = "alice from 198.18.0.2 port 51000";
    auto owner = feth::open_device(req);
    CHECK(owner->name() == "feth0");
    CHECK(owner->created());

    SECTION("a second tunnel asking for the unit is refused, naming the holder; any skips it")
    {
        feth::DeviceRequest other(feth::TunMode::Ethernet, 0, "pair", 0);
        other.owner = "mallory";
        other.adopt_existing = true; // not even then
        try {
            feth::open_device(other);
            CHECK(false);
        } catch (const feth::SystemError& e) {
            CHECK(e.code() == EBUSY);
            const std::string text = e.what();
            CHECK(text.find("device feth0: in use by another tunnel, pid " + std::to_string(::getpid()) +
                            " (alice from 198.18.0.2 port 51000)") != std::string::npos);
        }
        other.unit = feth::kTunUnitAny;
        auto any = feth::open_device(other);
        CHECK(any->name() == "feth1");
        CHECK(any->created());
    }
    SECTION("an administrator's pair is used only when adoption is allowed, then as found")
    {
        REQUIRE(std::system("ip link add feth4 type veth peer name feth5004") == 0);
        req.unit = 4;
        try {
            feth::open_device(req);
            CHECK(false);
        } catch (const feth::SystemError& e) {
            CHECK(e.code() == EEXIST);
            CHECK(std::string(e.what()).find("TunnelAdoptExisting") != std::string::npos);
        }
        req.adopt_existing = true;
        auto user = feth::open_device(req);
        CHECK(user->name() == "feth4");
        CHECK_FALSE(user->created());
        user.reset();
        CHECK(::if_nametoindex("feth4") != 0); // left as found
        CHECK(feth::sweep_leftover_devices() == 0); // not ours: never swept
        CHECK(::if_nametoindex("feth4") != 0);
    }
    SECTION("a pair a dead process left is removed by the sweep, and when its unit is asked for")
    {
        leave_pair_behind(5);
        leave_pair_behind(6);
        CHECK(::if_nametoindex("feth5") != 0);
        CHECK(::if_nametoindex("feth6") != 0);
        req.unit = 6;
        req.adopt_existing = true; // a leftover is never adopted as the user's own
        auto again = feth::open_device(req);
        CHECK(again->created());
        CHECK(feth::sweep_leftover_devices() == 1); // feth5; feth0 and feth6 are held
        CHECK(::if_nametoindex("feth5") == 0);
        CHECK(::if_nametoindex("feth5005") == 0);
        CHECK(::if_nametoindex("feth0") != 0);
        again.reset();
        CHECK(::if_nametoindex("feth6") == 0);
    }
    SECTION("an unrelated interface with the peer's name is refused, and kept")
    {
        // A tap named feth5003 stands in for someone else's interface.
        feth::UniqueFd tap(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
        REQUIRE(tap);
        ifreq ifr{};
        std::strncpy(ifr.ifr_name, "feth5003", IFNAMSIZ - 1);
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        REQUIRE(::ioctl(tap.get(), TUNSETIFF, &ifr) == 0);
        req.unit = 3;
        try {
            feth::open_device(req);
            CHECK(false);
        } catch (const feth::SystemError& e) {
            CHECK(e.code() == EEXIST);
            CHECK(std::string(e.what()).find("feth5003") != std::string::npos);
        }
        CHECK(::if_nametoindex("feth5003") != 0);
        CHECK(::if_nametoindex("feth3") == 0);
    }
    owner.reset();
    CHECK(::if_nametoindex("feth0") == 0);
}

#endif
