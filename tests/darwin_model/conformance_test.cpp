// Conformance of the model of xnu (darwin_modeld.cpp): each rule the Darwin
// backends rely on, checked through tunnel/darwin/sys.hpp as the backends
// call it. Runs as root inside a network namespace of its own with a
// darwin-modeld there (darwin_model_test.sh). Units 40-59 are this file's.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "abi.hpp"
#include "catch.hpp"
#include "model_client.hpp"
#include "tunnel/bpf_records.hpp"
#include "tunnel/darwin/sys.hpp"
#include "tunnel/darwin_structs.hpp"

namespace dm = feth::darwin_model;
namespace sys = feth::darwin::sys;
using feth::darwin::IfFakeRequest;

namespace {

struct Fd {
    int fd;
    explicit Fd(int f) : fd(f) {}
    ~Fd()
    {
        if (fd >= 0) ::close(fd);
    }
    Fd(const Fd&) = delete;
    operator int() const { return fd; }
};

dm::DarwinIfreq ifreq_for(const std::string& name)
{
    dm::DarwinIfreq ifr{};
    std::strncpy(ifr.ifr_ifrn.ifrn_name, name.c_str(), 15);
    return ifr;
}

int inet_socket()
{
    return sys::socket(AF_INET, SOCK_DGRAM, 0);
}

int errno_of(int rc)
{
    return rc < 0 ? errno : 0;
}

int create(const std::string& name)
{
    Fd s(inet_socket());
    auto ifr = ifreq_for(name);
    return errno_of(sys::ioctl(s, dm::kSiocIfcreate2, &ifr));
}

int destroy(const std::string& name)
{
    Fd s(inet_socket());
    auto ifr = ifreq_for(name);
    return errno_of(sys::ioctl(s, dm::kSiocIfdestroy, &ifr));
}

int set_peer(const std::string& name, const std::string& peer, std::size_t len = sizeof(IfFakeRequest),
             std::uint64_t reserved = 0)
{
    Fd s(inet_socket());
    IfFakeRequest request = feth::darwin::make_set_peer_request(peer);
    request.reserved[0] = reserved;
    dm::DarwinIfdrv drv{};
    std::strncpy(drv.ifd_name, name.c_str(), 15);
    drv.ifd_cmd = feth::darwin::kIfFakeSetCmdSetPeer;
    drv.ifd_len = len;
    drv.ifd_data = &request;
    return errno_of(sys::ioctl(s, dm::kSiocSdrvspec, &drv));
}

std::string get_peer(const std::string& name)
{
    Fd s(inet_socket());
    IfFakeRequest answer{};
    dm::DarwinIfdrv drv{};
    std::strncpy(drv.ifd_name, name.c_str(), 15);
    drv.ifd_cmd = feth::darwin::kIfFakeGetCmdGetPeer;
    drv.ifd_len = sizeof answer;
    drv.ifd_data = &answer;
    REQUIRE(sys::ioctl(s, dm::kSiocGdrvspec, &drv) == 0);
    return std::string(feth::darwin::peer_name_of(answer));
}

int set_up(const std::string& name, bool up)
{
    Fd s(inet_socket());
    auto ifr = ifreq_for(name);
    ifr.ifr_ifru.ifru_flags = up ? static_cast<short>(dm::kIffUp) : 0;
    return errno_of(sys::ioctl(s, dm::kSiocSifflags, &ifr));
}

// fethN and feth(N+5000), peered and up, as FethPair makes them.
void make_pair(unsigned unit)
{
    const std::string a = "feth" + std::to_string(unit), b = "feth" + std::to_string(unit + 5000);
    REQUIRE(create(a) == 0);
    REQUIRE(create(b) == 0);
    REQUIRE(set_peer(a, b) == 0);
    REQUIRE(set_up(a, true) == 0);
    REQUIRE(set_up(b, true) == 0);
}

int ioctl_uint(int fd, unsigned long req, unsigned& value)
{
    return errno_of(sys::ioctl(fd, req, &value));
}

int attach(int bpf, const std::string& name)
{
    auto ifr = ifreq_for(name);
    return errno_of(sys::ioctl(bpf, dm::kBiocSetif, &ifr));
}

// Sends raw Ethernet frames out of Linux interface `name` (the visible
// half: feth taps them into its peer's bpf).
void send_frames(const std::string& name, std::size_t size, int count)
{
    Fd s(::socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)));
    REQUIRE(s >= 0);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = static_cast<int>(::if_nametoindex(name.c_str()));
    sll.sll_halen = 6;
    std::vector<std::uint8_t> frame(size, 0);
    std::memset(frame.data(), 0xff, 6);                           // broadcast
    std::memcpy(frame.data() + 6, "\x02\x00\x00\x00\x00\x01", 6); // source
    frame[12] = 0x88;                                              // local experimental ethertype 88b5
    frame[13] = 0xb5;
    for (int i = 0; i < count; ++i) {
        frame[14] = static_cast<std::uint8_t>(i);
        REQUIRE(::sendto(s, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&sll), sizeof sll) ==
                static_cast<ssize_t>(frame.size()));
    }
}

// Waits (bounded) until the bpf descriptor has seen `count` frames.
void wait_received(int bpf, unsigned count)
{
    for (int i = 0; i < 500; ++i) {
        unsigned stats[2] = {};
        REQUIRE(sys::ioctl(bpf, dm::kBiocGstats, stats) == 0);
        if (stats[0] >= count) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("the bpf descriptor did not see " << count << " frames within 5 s");
}

struct Record {
    std::uint32_t caplen, datalen;
    std::uint16_t hdrlen;
    std::size_t offset;
};

std::vector<Record> records(const std::vector<std::uint8_t>& buf, std::size_t n)
{
    std::vector<Record> out;
    std::size_t off = 0;
    while (off < n) {
        Record r{};
        std::memcpy(&r.caplen, buf.data() + off + 8, 4);
        std::memcpy(&r.datalen, buf.data() + off + 12, 4);
        std::memcpy(&r.hdrlen, buf.data() + off + 16, 2);
        r.offset = off;
        out.push_back(r);
        off += (r.hdrlen + r.caplen + 3u) & ~3u;
    }
    return out;
}

// An open, attached, immediate, non-blocking bpf on `name` with `size`.
int open_bpf(const std::string& name, unsigned size, bool immediate = true)
{
    for (int minor = 0; minor < 256; ++minor) {
        int fd = sys::open(("/dev/bpf" + std::to_string(minor)).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        unsigned v = size;
        REQUIRE(ioctl_uint(fd, dm::kBiocSblen, v) == 0);
        v = immediate ? 1 : 0;
        REQUIRE(ioctl_uint(fd, dm::kBiocImmediate, v) == 0);
        v = 0;
        REQUIRE(ioctl_uint(fd, dm::kBiocSseesent, v) == 0);
        REQUIRE(attach(fd, name) == 0);
        REQUIRE(::fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
        return fd;
    }
    FAIL("no free /dev/bpf");
    return -1;
}

// As an unprivileged user, in a child: the errno of `what`.
template <typename F> int as_nobody(F what)
{
    pid_t pid = ::fork();
    if (pid == 0) {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(255);
        ::_exit(what());
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

// ---- bpf (bsd/net/bpf.c) ----

TEST_CASE("darwin_model: bpf has one opener per minor, EBUSY for another (bpf.c:997-1034)", "[darwin_model]")
{
    Fd first(sys::open("/dev/bpf200", O_RDONLY));
    REQUIRE(first >= 0);
    CHECK(errno_of(sys::open("/dev/bpf200", O_RDONLY)) == EBUSY);
    ::close(first.fd);
    first.fd = -1;
    Fd again(sys::open("/dev/bpf200", O_RDONLY));
    CHECK(again >= 0);
}

TEST_CASE("darwin_model: BIOCSBLEN is clamped, written back, and refused once attached (bpf.c:2114-2148)",
          "[darwin_model]")
{
    make_pair(40);
    Fd bpf(sys::open("/dev/bpf201", O_RDONLY));
    REQUIRE(bpf >= 0);
    unsigned v = 0;
    REQUIRE(ioctl_uint(bpf, dm::kBiocGblen, v) == 0);
    CHECK(v == 4096); // bpf.c:145
    v = 1u << 30;
    REQUIRE(ioctl_uint(bpf, dm::kBiocSblen, v) == 0);
    CHECK(v == 512 * 1024);
    v = 1;
    REQUIRE(ioctl_uint(bpf, dm::kBiocSblen, v) == 0);
    CHECK(v == 32);
    CHECK(ioctl_uint(bpf, dm::kBiocGdlt, v) == EINVAL); // unattached
    CHECK(errno_of(sys::ioctl(bpf, dm::kBiocPromisc, nullptr)) == EINVAL);
    CHECK(attach(bpf, "feth99") == ENXIO);
    REQUIRE(attach(bpf, "feth5040") == 0);
    v = 8192;
    CHECK(ioctl_uint(bpf, dm::kBiocSblen, v) == EINVAL);
    REQUIRE(ioctl_uint(bpf, dm::kBiocGdlt, v) == 0);
    CHECK(v == dm::kDltEn10mb);
}

TEST_CASE("darwin_model: a bpf read of another size than the buffer fails with EINVAL (bpf.c:1289-1293)",
          "[darwin_model]")
{
    make_pair(41);
    Fd bpf(open_bpf("feth5041", 4096));
    std::vector<std::uint8_t> buf(8192);
    CHECK(errno_of(static_cast<int>(sys::read(bpf, buf.data(), 8192))) == EINVAL);
    CHECK(errno_of(static_cast<int>(sys::read(bpf, buf.data(), 100))) == EINVAL);
}

TEST_CASE("darwin_model: immediate mode rotates the store buffer on read; records are word-aligned, the last unpadded "
          "(bpf.c:1316-1330, 4024-4100)",
          "[darwin_model]")
{
    make_pair(42);
    Fd bpf(open_bpf("feth5042", 4096));
    send_frames("feth42", 61, 3);
    wait_received(bpf, 3);
    pollfd p{bpf, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 5000) == 1); // readable through the model's token
    std::vector<std::uint8_t> buf(4096);
    ssize_t n = sys::read(bpf, buf.data(), buf.size());
    REQUIRE(n > 0);
    auto recs = records(buf, static_cast<std::size_t>(n));
    REQUIRE(recs.size() == 3);
    for (const auto& r : recs) {
        CHECK(r.hdrlen == 18);
        CHECK(r.caplen == 61);
        CHECK(r.datalen == 61);
        CHECK(r.offset % 4 == 0);
    }
    CHECK(recs[1].offset == 80); // BPF_WORDALIGN(18 + 61)
    CHECK(static_cast<std::size_t>(n) == 2 * 80 + 18 + 61); // no padding after the last
    CHECK(errno_of(static_cast<int>(sys::read(bpf, buf.data(), buf.size()))) == EWOULDBLOCK);
}

TEST_CASE("darwin_model: a frame larger than the buffer is clamped, caplen < datalen (bpf.c catchpacket)",
          "[darwin_model]")
{
    make_pair(43);
    Fd bpf(open_bpf("feth5043", 128));
    send_frames("feth43", 200, 1);
    wait_received(bpf, 1);
    std::vector<std::uint8_t> buf(128);
    ssize_t n = sys::read(bpf, buf.data(), buf.size());
    REQUIRE(n == 128);
    auto recs = records(buf, 128);
    REQUIRE(recs.size() == 1);
    CHECK(recs[0].caplen == 110);
    CHECK(recs[0].datalen == 200);
}

TEST_CASE("darwin_model: frames are dropped and counted while the hold buffer is unread (bpf.c:4024-4100)",
          "[darwin_model]")
{
    make_pair(44);
    Fd bpf(open_bpf("feth5044", 256));
    // Records of 118 bytes (120 aligned): two fill a 256-byte buffer, the
    // third rotates it into the hold buffer, the fourth joins the third,
    // the fifth and sixth find both buffers taken.
    send_frames("feth44", 100, 6);
    wait_received(bpf, 6);
    unsigned stats[2] = {};
    REQUIRE(sys::ioctl(bpf, dm::kBiocGstats, stats) == 0);
    CHECK(stats[1] == 2);
    std::vector<std::uint8_t> buf(256);
    CHECK(records(buf, static_cast<std::size_t>(sys::read(bpf, buf.data(), 256))).size() == 2);
    CHECK(records(buf, static_cast<std::size_t>(sys::read(bpf, buf.data(), 256))).size() == 2);

    SECTION("and the fault knob forces the same")
    {
        REQUIRE(dm::inject_fault(dm::Fault::BpfHoldFull, 3, "feth5044") == 0);
        send_frames("feth44", 100, 4);
        wait_received(bpf, 10);
        REQUIRE(sys::ioctl(bpf, dm::kBiocGstats, stats) == 0);
        CHECK(stats[1] == 5);
    }
}

TEST_CASE("darwin_model: the batch knob hands a burst over in one read (the fault knob, not an xnu rule)",
          "[darwin_model]")
{
    make_pair(53);
    Fd bpf(open_bpf("feth5053", 4096));
    REQUIRE(dm::inject_fault(dm::Fault::BpfBatch, 5, "feth5053") == 0);
    send_frames("feth53", 60, 4);
    wait_received(bpf, 4);
    pollfd p{bpf, POLLIN, 0};
    CHECK(::poll(&p, 1, 100) == 0); // four of five: nothing announced yet
    std::vector<std::uint8_t> buf(4096);
    CHECK(errno_of(static_cast<int>(sys::read(bpf, buf.data(), buf.size()))) == EWOULDBLOCK);
    send_frames("feth53", 60, 1);
    wait_received(bpf, 5);
    REQUIRE(::poll(&p, 1, 5000) == 1);
    ssize_t n = sys::read(bpf, buf.data(), buf.size());
    REQUIRE(n > 0);
    CHECK(records(buf, static_cast<std::size_t>(n)).size() == 5);
    // Once handed over, the knob is spent: the next frame is announced at once.
    send_frames("feth53", 60, 1);
    CHECK(::poll(&p, 1, 5000) == 1);
}

TEST_CASE("darwin_model: the backends' read buffer takes a read's records one call at a time, the last one "
          "unpadded, with no new read until they are all out",
          "[darwin_model]")
{
    make_pair(54);
    Fd bpf(open_bpf("feth5054", 4096));
    // 61-byte frames: records of 79 bytes, padded to 80 between them and
    // not after the last (the read is 2 * 80 + 79 bytes).
    send_frames("feth54", 61, 3);
    wait_received(bpf, 3);
    feth::bpf::ReadBuffer buffer(4096, "device feth5054 (bpf)", sys::read);
    std::vector<int> seen;
    auto take = [&](std::span<const std::uint8_t> frame) {
        CHECK(frame.size() == 61);
        seen.push_back(frame[14]);
        return true;
    };
    for (int i = 0; i < 3; ++i) {
        CHECK(buffer.read(bpf, take, 1) == 1);
        CHECK(buffer.has_records() == (i < 2)); // the rest waits in user space, where poll() cannot see it
    }
    CHECK(seen == std::vector<int>{0, 1, 2});
    CHECK(buffer.truncated() == 0);
    CHECK(buffer.malformed() == 0);
    CHECK(buffer.read(bpf, take, 1) == 0); // nothing left, nothing new: EWOULDBLOCK, no error
}

TEST_CASE("darwin_model: an empty non-blocking bpf says EWOULDBLOCK, a detached one ENXIO (bpf.c:1338-1347)",
          "[darwin_model]")
{
    make_pair(45);
    Fd bpf(open_bpf("feth5045", 4096));
    std::vector<std::uint8_t> buf(4096);
    CHECK(errno_of(static_cast<int>(sys::read(bpf, buf.data(), buf.size()))) == EWOULDBLOCK);
    send_frames("feth45", 60, 1);
    wait_received(bpf, 1);
    REQUIRE(dm::inject_fault(dm::Fault::RemoveInterface, 1, "feth5045") == 0);
    pollfd p{bpf, POLLIN, 0};
    CHECK(::poll(&p, 1, 5000) == 1);
    CHECK(sys::read(bpf, buf.data(), buf.size()) == 18 + 60); // what was captured comes first
    CHECK(errno_of(static_cast<int>(sys::read(bpf, buf.data(), buf.size()))) == ENXIO);
    CHECK(::if_nametoindex("feth5045") == 0);
    CHECK(::if_nametoindex("feth45") != 0); // the other half lives on, unpeered
    CHECK(get_peer("feth45").empty());
}

// ---- feth (bsd/net/if_fake.c) ----

TEST_CASE("darwin_model: feth create and destroy: EEXIST, ENXIO, EPERM, root only", "[darwin_model]")
{
    REQUIRE(create("feth46") == 0);
    CHECK(create("feth46") == EEXIST);
    CHECK(create("fxth46") == EINVAL);
    CHECK(as_nobody([] { return create("feth47"); }) == EPERM);
    CHECK(as_nobody([] { return destroy("feth46"); }) == EPERM);
    CHECK(destroy("feth46") == 0);
    CHECK(destroy("feth46") == ENXIO);
    CHECK(::if_nametoindex("feth46") == 0);
}

TEST_CASE("darwin_model: a new feth's MAC is \"feth\" and its unit (if_fake.c:3537-3541)", "[darwin_model]")
{
    REQUIRE(create("feth300") == 0);
    std::ifstream in("/sys/class/net/feth300/address");
    std::string mac;
    in >> mac;
    CHECK(mac == "66:65:74:68:01:2c");
    CHECK(destroy("feth300") == 0);
}

TEST_CASE("darwin_model: the max MTU is fixed at creation from net.link.fake.max_mtu; SIOCSIFMTU's range; "
          "SIOCGIFDEVMTU (if_fake.c:351-373, 3561, 4188-4201)",
          "[darwin_model]")
{
    unsigned value = 0;
    std::size_t len = sizeof value;
    REQUIRE(sys::sysctlbyname("net.link.fake.max_mtu", &value, &len, nullptr, 0) == 0);
    CHECK(value == 2048);
    REQUIRE(create("feth48") == 0);
    unsigned raised = 9000;
    CHECK(as_nobody([&] {
              return errno_of(sys::sysctlbyname("net.link.fake.max_mtu", nullptr, nullptr, &raised, sizeof raised));
          }) == EPERM);
    for (unsigned bad : {16371u, 1499u}) {
        unsigned v = bad;
        CHECK(errno_of(sys::sysctlbyname("net.link.fake.max_mtu", nullptr, nullptr, &v, sizeof v)) == EINVAL);
    }
    REQUIRE(sys::sysctlbyname("net.link.fake.max_mtu", nullptr, nullptr, &raised, sizeof raised) == 0);
    REQUIRE(create("feth49") == 0);
    Fd s(inet_socket());
    auto devmtu = [&](const char* name) {
        auto ifr = ifreq_for(name);
        REQUIRE(sys::ioctl(s, dm::kSiocGifdevmtu, &ifr) == 0);
        return ifr.ifr_ifru.ifru_devmtu;
    };
    CHECK(devmtu("feth48").ifdm_max == 2048);
    CHECK(devmtu("feth49").ifdm_max == 9000);
    CHECK(devmtu("feth49").ifdm_current == 1500);
    auto set_mtu = [&](const char* name, int mtu) {
        auto ifr = ifreq_for(name);
        ifr.ifr_ifru.ifru_mtu = mtu;
        return errno_of(sys::ioctl(s, dm::kSiocSifmtu, &ifr));
    };
    CHECK(set_mtu("feth48", 9000) == EINVAL);
    CHECK(set_mtu("feth49", 9000) == 0);
    CHECK(set_mtu("feth49", 71) == EINVAL);
    CHECK(devmtu("feth49").ifdm_current == 9000);
    unsigned back = 2048; // the rest of the suite expects the default
    REQUIRE(sys::sysctlbyname("net.link.fake.max_mtu", nullptr, nullptr, &back, sizeof back) == 0);
    CHECK(destroy("feth48") == 0);
    CHECK(destroy("feth49") == 0);
}

TEST_CASE("darwin_model: SET_PEER and GET_PEER follow if_fake.c:4040-4065", "[darwin_model]")
{
    REQUIRE(create("feth50") == 0);
    REQUIRE(create("feth5050") == 0);
    REQUIRE(create("feth51") == 0);
    CHECK(set_peer("feth50", "feth5050", 159) == EINVAL);
    CHECK(set_peer("feth50", "feth5050", sizeof(IfFakeRequest), 1) == EINVAL);
    CHECK(set_peer("feth50", "feth9999") == ENXIO);
    CHECK(set_peer("feth50", "lo") == EINVAL);
    REQUIRE(set_peer("feth50", "feth5050") == 0);
    CHECK(get_peer("feth50") == "feth5050");
    CHECK(get_peer("feth5050") == "feth50");
    CHECK(set_peer("feth51", "feth5050") == EBUSY);
    CHECK(set_peer("feth50", "") == 0);
    CHECK(get_peer("feth5050").empty());
    for (const char* n : {"feth50", "feth5050", "feth51"}) CHECK(destroy(n) == 0);
}

// ---- NDRV (bsd/net/ndrv.c) ----

TEST_CASE("darwin_model: NDRV is root's, binds by name, refuses sends above its send space, down or full "
          "interfaces, and is always writable (ndrv.c:250-489)",
          "[darwin_model]")
{
    CHECK(as_nobody([] { return errno_of(sys::socket(dm::kAfNdrv, SOCK_RAW, 0)); }) == EPERM);
    make_pair(52);
    Fd s(sys::socket(dm::kAfNdrv, SOCK_RAW, 0));
    REQUIRE(s >= 0);
    auto bad = feth::darwin::make_sockaddr_ndrv("feth9998");
    CHECK(errno_of(sys::bind(s, reinterpret_cast<const sockaddr*>(&bad), sizeof bad)) == EADDRNOTAVAIL);
    auto sa = feth::darwin::make_sockaddr_ndrv("feth5052");
    REQUIRE(sys::bind(s, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(sys::connect(s, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0);
    CHECK(errno_of(sys::connect(s, reinterpret_cast<const sockaddr*>(&sa), sizeof sa)) == EISCONN);
    std::vector<std::uint8_t> frame(8193, 0);
    CHECK(errno_of(static_cast<int>(sys::send(s, frame.data(), frame.size(), 0))) == EMSGSIZE);
    frame.resize(60);
    std::memset(frame.data(), 0xff, 12);
    CHECK(sys::send(s, frame.data(), frame.size(), 0) == 60);
    REQUIRE(dm::inject_fault(dm::Fault::NdrvEnobufs, 1, "feth5052") == 0);
    CHECK(errno_of(static_cast<int>(sys::send(s, frame.data(), frame.size(), 0))) == ENOBUFS);
    CHECK(sys::send(s, frame.data(), frame.size(), 0) == 60);
    REQUIRE(set_up("feth5052", false) == 0);
    CHECK(errno_of(static_cast<int>(sys::send(s, frame.data(), frame.size(), 0))) == ENETDOWN);
    pollfd p{s, POLLOUT, 0};
    CHECK(::poll(&p, 1, 0) == 1);
    CHECK((p.revents & POLLOUT) != 0);
}

// ---- utun (bsd/net/if_utun.c) ----

namespace {

int utun_connect(int fd, std::uint32_t sc_unit)
{
    dm::DarwinCtlInfo info{};
    std::strcpy(info.ctl_name, feth::darwin::kUtunControlName);
    REQUIRE(sys::ioctl(fd, dm::kCtliocGinfo, &info) == 0);
    dm::DarwinSockaddrCtl addr{};
    addr.sc_len = sizeof addr;
    addr.sc_family = static_cast<std::uint8_t>(dm::kPfSystem);
    addr.ss_sysaddr = dm::kAfSysControl;
    addr.sc_id = info.ctl_id;
    addr.sc_unit = sc_unit;
    return errno_of(sys::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr));
}

std::string utun_name(int fd)
{
    char name[16] = {};
    socklen_t len = sizeof name;
    REQUIRE(sys::getsockopt(fd, dm::kSysprotoControl, feth::darwin::kUtunOptIfname, name, &len) == 0);
    return name;
}

} // namespace

TEST_CASE("darwin_model: utun: CTLIOCGINFO by name, unit numbering, UTUN_OPT_IFNAME, gone with the last "
          "descriptor (if_utun.c, kern_control.c)",
          "[darwin_model]")
{
    Fd fd(sys::socket(dm::kPfSystem, SOCK_DGRAM, dm::kSysprotoControl));
    REQUIRE(fd >= 0);
    dm::DarwinCtlInfo info{};
    std::strcpy(info.ctl_name, "com.example.nothing");
    CHECK(errno_of(sys::ioctl(fd, dm::kCtliocGinfo, &info)) == ENOENT);
    REQUIRE(utun_connect(fd, 54 + 1) == 0);
    CHECK(utun_name(fd) == "utun54");
    Fd again(sys::socket(dm::kPfSystem, SOCK_DGRAM, dm::kSysprotoControl));
    CHECK(utun_connect(again, 54 + 1) == EBUSY);
    CHECK(as_nobody([] {
              int s = sys::socket(dm::kPfSystem, SOCK_DGRAM, dm::kSysprotoControl);
              return s < 0 ? 254 : utun_connect(s, 57 + 1);
          }) == EPERM);
    int copy = ::dup(fd); // as SCM_RIGHTS would: the interface stays
    ::close(fd.fd);
    fd.fd = -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(::if_nametoindex("utun54") != 0);
    ::close(copy);
    bool gone = false;
    for (int i = 0; i < 500 && !gone; ++i) {
        gone = ::if_nametoindex("utun54") == 0;
        if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(gone);
}

TEST_CASE("darwin_model: utun's 4-byte family header is in network order both ways (if_utun.c:2062-2066, 2672)",
          "[darwin_model]")
{
    Fd fd(sys::socket(dm::kPfSystem, SOCK_DGRAM, dm::kSysprotoControl));
    REQUIRE(utun_connect(fd, 55 + 1) == 0);
    REQUIRE(std::system("ip addr add 198.18.55.1 peer 198.18.55.2 dev utun55 && ip link set utun55 up") == 0);
    REQUIRE(::fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
    // An ICMP echo request 198.18.55.2 -> 198.18.55.1, which Linux answers.
    std::uint8_t pkt[4 + 28] = {0, 0, 0, 2, 0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 198, 18, 55, 2, 198, 18, 55, 1,
                                8, 0, 0, 0, 0x12, 0x34, 0, 1};
    auto checksum = [](const std::uint8_t* p, std::size_t n) {
        std::uint32_t sum = 0;
        for (std::size_t i = 0; i + 1 < n; i += 2) sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        return static_cast<std::uint16_t>(~sum);
    };
    std::uint16_t c = checksum(pkt + 4, 20);
    pkt[14] = static_cast<std::uint8_t>(c >> 8);
    pkt[15] = static_cast<std::uint8_t>(c);
    c = checksum(pkt + 24, 8);
    pkt[26] = static_cast<std::uint8_t>(c >> 8);
    pkt[27] = static_cast<std::uint8_t>(c);
    std::uint8_t wrong[sizeof pkt];
    std::memcpy(wrong, pkt, sizeof pkt);
    wrong[0] = 2; // host order on a little-endian machine: not a family
    wrong[3] = 0;
    CHECK(errno_of(static_cast<int>(sys::send(fd, wrong, sizeof wrong, 0))) == EAFNOSUPPORT);
    REQUIRE(sys::send(fd, pkt, sizeof pkt, 0) == static_cast<ssize_t>(sizeof pkt));
    pollfd p{fd, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 5000) == 1);
    std::uint8_t reply[2048];
    ssize_t n = sys::recv(fd, reply, sizeof reply, 0);
    REQUIRE(n >= 4 + 28);
    CHECK(reply[0] == 0);
    CHECK(reply[3] == 2); // AF_INET, network order
    CHECK(reply[4 + 20] == 0); // an echo reply
}
