#include "tunnel/darwin_structs.hpp"

#include <string>

#include "catch.hpp"

#if defined(__APPLE__)
// The model of xnu (tests/darwin_model) writes Darwin's numbers and layouts
// down as literals so that Linux can build the Darwin backends; here, with
// Apple's own headers, every one is checked.
#include <net/bpf.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/kern_control.h>
#include <sys/socket.h>
#include <sys/sockio.h>
#include <sys/sys_domain.h>

#include "../darwin_model/abi.hpp"

namespace dm = feth::darwin_model;
static_assert(dm::kBiocGblen == BIOCGBLEN && dm::kBiocSblen == BIOCSBLEN && dm::kBiocSetif == BIOCSETIF);
static_assert(dm::kBiocImmediate == BIOCIMMEDIATE && dm::kBiocSseesent == BIOCSSEESENT);
static_assert(dm::kBiocPromisc == BIOCPROMISC && dm::kBiocGdlt == BIOCGDLT && dm::kBiocGstats == BIOCGSTATS);
static_assert(dm::kSiocIfcreate2 == SIOCIFCREATE2 && dm::kSiocIfdestroy == SIOCIFDESTROY);
static_assert(dm::kSiocSiflladdr == SIOCSIFLLADDR && dm::kSiocSdrvspec == SIOCSDRVSPEC &&
              dm::kSiocGdrvspec == SIOCGDRVSPEC);
static_assert(dm::kSiocGifflags == SIOCGIFFLAGS && dm::kSiocSifflags == SIOCSIFFLAGS);
static_assert(dm::kSiocGifmtu == SIOCGIFMTU && dm::kSiocSifmtu == SIOCSIFMTU && dm::kSiocGifdevmtu == SIOCGIFDEVMTU);
static_assert(dm::kCtliocGinfo == CTLIOCGINFO);
static_assert(dm::kIocIn == IOC_IN && dm::kIocOut == IOC_OUT && dm::ioc_len(SIOCSDRVSPEC) == sizeof(struct ifdrv));
static_assert(dm::kDltEn10mb == DLT_EN10MB && dm::kAfNdrv == AF_NDRV && dm::kPfSystem == PF_SYSTEM);
static_assert(dm::kAfSysControl == AF_SYS_CONTROL && dm::kSysprotoControl == SYSPROTO_CONTROL);
static_assert(dm::kAfLink == AF_LINK && dm::kSoNosigpipe == SO_NOSIGPIPE && dm::kMaxKctlName == MAX_KCTL_NAME);
static_assert(dm::kIffUp == IFF_UP && dm::kIffBroadcast == IFF_BROADCAST && dm::kIffPointopoint == IFF_POINTOPOINT);
static_assert(dm::kIffRunning == IFF_RUNNING && dm::kIffSimplex == IFF_SIMPLEX && dm::kIffMulticast == IFF_MULTICAST);
static_assert(sizeof(dm::DarwinIfreq) == sizeof(struct ifreq));
static_assert(offsetof(dm::DarwinIfreq, ifr_ifru) == offsetof(struct ifreq, ifr_ifru));
static_assert(sizeof(dm::DarwinIfdrv) == sizeof(struct ifdrv) && offsetof(dm::DarwinIfdrv, ifd_cmd) == offsetof(struct ifdrv, ifd_cmd));
static_assert(offsetof(dm::DarwinIfdrv, ifd_len) == offsetof(struct ifdrv, ifd_len) &&
              offsetof(dm::DarwinIfdrv, ifd_data) == offsetof(struct ifdrv, ifd_data));
static_assert(sizeof(dm::DarwinIfdevmtu) == sizeof(struct ifdevmtu));
static_assert(sizeof(dm::DarwinCtlInfo) == sizeof(struct ctl_info));
static_assert(sizeof(dm::DarwinSockaddrCtl) == sizeof(struct sockaddr_ctl) &&
              offsetof(dm::DarwinSockaddrCtl, sc_unit) == offsetof(struct sockaddr_ctl, sc_unit));
#endif

using namespace feth::darwin;

TEST_CASE("if_fake_request matches xnu's layout", "[darwin]")
{
    CHECK(sizeof(IfFakeRequest) == 160);
    CHECK(offsetof(IfFakeRequest, u) == 32);
    CHECK(sizeof(IfFakeRequest::u) == 128);
    CHECK(kIfFakeSetCmdSetPeer == 1);
    CHECK(kIfFakeGetCmdGetPeer == 1);
}

TEST_CASE("a set-peer request is zeroed and carries the name", "[darwin]")
{
    IfFakeRequest r = make_set_peer_request("feth5000");
    for (auto word : r.reserved) CHECK(word == 0);
    CHECK(std::string(r.u.peer_name) == "feth5000");
    for (std::size_t i = 8; i < sizeof r.u.buf; ++i) CHECK(r.u.buf[i] == 0);
    CHECK(peer_name_of(r) == "feth5000");

    SECTION("an empty name unpeers")
    {
        IfFakeRequest empty = make_set_peer_request("");
        CHECK(empty.u.peer_name[0] == '\0');
        CHECK(peer_name_of(empty).empty());
    }
    SECTION("an over-long name is cut to IFNAMSIZ - 1 and stays terminated")
    {
        IfFakeRequest longer = make_set_peer_request("feth12345678901234567");
        CHECK(peer_name_of(longer).size() == kIfNameSize - 1);
        CHECK(longer.u.peer_name[kIfNameSize - 1] == '\0');
    }
    SECTION("an unterminated answer is read only within the field")
    {
        IfFakeRequest answer{};
        for (std::size_t i = 0; i < sizeof answer.u.buf; ++i) answer.u.buf[i] = 'x';
        CHECK(peer_name_of(answer).size() == kIfNameSize);
    }
}

TEST_CASE("sockaddr_ndrv matches xnu's layout", "[darwin]")
{
    CHECK(sizeof(SockaddrNdrv) == 18);
    SockaddrNdrv sa = make_sockaddr_ndrv("feth5003");
    CHECK(sa.snd_len == 18);
    CHECK(sa.snd_family == 27);
    CHECK(std::string(sa.snd_name) == "feth5003");
    CHECK(sa.snd_name[kIfNameSize - 1] == '\0');
}

TEST_CASE("feth and utun constants", "[darwin]")
{
    CHECK(std::string(kUtunControlName) == "com.apple.net.utun_control");
    CHECK(kUtunOptIfname == 2);
    CHECK(kDarwinAfInet6 == 30);
    CHECK(kFethLargestMaxMtu == 16384 - 14);
    CHECK(kFethDefaultMaxMtu == 2048);
}
