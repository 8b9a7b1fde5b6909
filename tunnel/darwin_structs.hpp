// Darwin kernel structures and constants that the macOS SDK does not ship,
// declared once from Apple's open source (xnu) with fixed-width types, so
// that their layout is checked by static_asserts on every platform, Linux
// included. No Darwin header is needed here.
//
//  - struct if_fake_request, IF_FAKE_*_CMD_*: bsd/net/if_fake_var.h (not in
//    the SDK), used with SIOCSDRVSPEC/SIOCGDRVSPEC on a feth interface.
//  - struct sockaddr_ndrv: bsd/net/ndrv.h.
//  - utun's control name and socket option: bsd/net/if_utun.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace feth::darwin {

inline constexpr std::size_t kIfNameSize = 16; // IFNAMSIZ, name plus NUL

// ---- feth (if_fake) ----

// ifd_cmd values for SIOCSDRVSPEC (set) ...
inline constexpr std::uint32_t kIfFakeSetCmdNone = 0;
inline constexpr std::uint32_t kIfFakeSetCmdSetPeer = 1; // IF_FAKE_S_CMD_SET_PEER
inline constexpr std::uint32_t kIfFakeSetCmdSetMedia = 2;
inline constexpr std::uint32_t kIfFakeSetCmdSetDequeueStall = 3;
// ... and for SIOCGDRVSPEC (get).
inline constexpr std::uint32_t kIfFakeGetCmdNone = 0;
inline constexpr std::uint32_t kIfFakeGetCmdGetPeer = 1; // IF_FAKE_G_CMD_GET_PEER

inline constexpr std::size_t kIfFakeMediaListMax = 27; // IF_FAKE_MEDIA_LIST_MAX

struct IfFakeMedia {
    std::int32_t current;
    std::uint32_t count;
    std::uint32_t reserved[3];
    std::int32_t list[kIfFakeMediaListMax];
};

// struct if_fake_request. The kernel refuses the request (EINVAL) unless
// all four reserved words are zero and ifd_len >= sizeof(IfFakeRequest).
struct IfFakeRequest {
    std::uint64_t reserved[4];
    union {
        char buf[128]; // "stable size"
        IfFakeMedia media;
        char peer_name[kIfNameSize]; // "feth5000"; empty: unpeer
        std::uint32_t dequeue_stall;
    } u;
};

static_assert(sizeof(IfFakeMedia) == 128);
static_assert(sizeof(IfFakeRequest) == 160);
static_assert(alignof(IfFakeRequest) == 8);
static_assert(offsetof(IfFakeRequest, u) == 32);
static_assert(offsetof(IfFakeRequest, u.peer_name) == 32);

// A zeroed request naming `peer` (truncated to IFNAMSIZ - 1; callers check
// names beforehand).
inline IfFakeRequest make_set_peer_request(std::string_view peer)
{
    IfFakeRequest request;
    std::memset(&request, 0, sizeof request);
    std::memcpy(request.u.peer_name, peer.data(), peer.size() < kIfNameSize ? peer.size() : kIfNameSize - 1);
    return request;
}

// The peer name out of a GET_PEER answer, never reading past the field.
inline std::string_view peer_name_of(const IfFakeRequest& request)
{
    return {request.u.peer_name, ::strnlen(request.u.peer_name, kIfNameSize)};
}

// ---- AF_NDRV ----

inline constexpr int kAfNdrv = 27; // AF_NDRV in <sys/socket.h>

struct SockaddrNdrv {
    std::uint8_t snd_len;
    std::uint8_t snd_family;
    char snd_name[kIfNameSize];
};

static_assert(sizeof(SockaddrNdrv) == 18);
static_assert(offsetof(SockaddrNdrv, snd_family) == 1);
static_assert(offsetof(SockaddrNdrv, snd_name) == 2);

inline SockaddrNdrv make_sockaddr_ndrv(std::string_view ifname)
{
    SockaddrNdrv sa;
    std::memset(&sa, 0, sizeof sa);
    sa.snd_len = sizeof sa;
    sa.snd_family = kAfNdrv;
    std::memcpy(sa.snd_name, ifname.data(), ifname.size() < kIfNameSize ? ifname.size() : kIfNameSize - 1);
    return sa;
}

// ---- utun ----

inline constexpr const char* kUtunControlName = "com.apple.net.utun_control"; // UTUN_CONTROL_NAME
inline constexpr int kUtunOptIfname = 2;                                     // UTUN_OPT_IFNAME

// Address families as Darwin numbers them (utun's 4-byte header).
inline constexpr std::uint32_t kDarwinAfInet = 2;
inline constexpr std::uint32_t kDarwinAfInet6 = 30;

// ---- sysctl net.link.fake.max_mtu (bsd/net/if_fake.c) ----

inline constexpr unsigned kFethDefaultMaxMtu = 2048;  // FETH_MAX_MTU_DEFAULT
inline constexpr unsigned kFethLargestMaxMtu = 16370; // FETH_MAX_MTU_MAX = 16 KiB - 14
inline constexpr unsigned kIfMinMtu = 72;             // IF_MINMTU (bsd/net/if_var.h)
inline constexpr std::uint32_t kIfMaxUnit = 0x7fff;   // FETH_MAXUNIT = IF_MAXUNIT

} // namespace feth::darwin
