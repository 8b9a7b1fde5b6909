// Darwin's numbers and structure layouts the Darwin backends use, as the
// model of xnu (tests/darwin_model) needs them on Linux: the shim headers
// beside this one give the backends these values under Darwin's names, and
// the model's client and daemon read the same structures. The ioctl numbers
// are literal constants (Darwin encodes them differently from Linux, so its
// _IOW cannot be used here), read from Apple's open-source headers
// (../shared/darwin-sysroot) and checked against them in every Darwin build
// by tests/unit/darwin_structs_test.cpp. Plain C++, no system header: it
// compiles on macOS too.
#pragma once

#include <cstddef>
#include <cstdint>

namespace feth::darwin_model {

// ---- ioctl numbers (bsd/net/bpf.h, bsd/sys/sockio.h, bsd/sys/kern_control.h)
inline constexpr unsigned long kBiocGblen = 0x40044266UL;     // _IOR('B', 102, u_int)
inline constexpr unsigned long kBiocSblen = 0xc0044266UL;     // _IOWR('B', 102, u_int)
inline constexpr unsigned long kBiocSetif = 0x8020426cUL;     // _IOW('B', 108, struct ifreq)
inline constexpr unsigned long kBiocImmediate = 0x80044270UL; // _IOW('B', 112, u_int)
inline constexpr unsigned long kBiocSseesent = 0x80044277UL;  // _IOW('B', 119, u_int)
inline constexpr unsigned long kBiocPromisc = 0x20004269UL;   // _IO('B', 105)
inline constexpr unsigned long kBiocGdlt = 0x4004426aUL;      // _IOR('B', 106, u_int)
inline constexpr unsigned long kBiocGstats = 0x4008426fUL;    // _IOR('B', 111, struct bpf_stat)
inline constexpr unsigned long kSiocIfcreate2 = 0xc020697aUL; // _IOWR('i', 122, struct ifreq)
inline constexpr unsigned long kSiocIfdestroy = 0x80206979UL; // _IOW('i', 121, struct ifreq)
inline constexpr unsigned long kSiocSiflladdr = 0x8020693cUL; // _IOW('i', 60, struct ifreq)
inline constexpr unsigned long kSiocSdrvspec = 0x8028697bUL;  // _IOW('i', 123, struct ifdrv)
inline constexpr unsigned long kSiocGdrvspec = 0xc028697bUL;  // _IOWR('i', 123, struct ifdrv)
inline constexpr unsigned long kSiocGifflags = 0xc0206911UL;  // _IOWR('i', 17, struct ifreq)
inline constexpr unsigned long kSiocSifflags = 0x80206910UL;  // _IOW('i', 16, struct ifreq)
inline constexpr unsigned long kSiocGifmtu = 0xc0206933UL;    // _IOWR('i', 51, struct ifreq)
inline constexpr unsigned long kSiocSifmtu = 0x80206934UL;    // _IOW('i', 52, struct ifreq)
inline constexpr unsigned long kSiocGifdevmtu = 0xc0206944UL; // _IOWR('i', 68, struct ifreq)
inline constexpr unsigned long kCtliocGinfo = 0xc0644e03UL;   // _IOWR('N', 3, struct ctl_info)

// Darwin's ioctl encoding (bsd/sys/ioccom.h): direction in the top bits,
// the argument's size in bits 16-28.
inline constexpr unsigned long kIocOut = 0x40000000UL;
inline constexpr unsigned long kIocIn = 0x80000000UL;
constexpr std::size_t ioc_len(unsigned long request)
{
    return (request >> 16) & 0x1fff;
}

// ---- other constants
inline constexpr unsigned kDltEn10mb = 1;
inline constexpr int kAfNdrv = 27;
inline constexpr int kPfSystem = 32;
inline constexpr int kAfSysControl = 2;
inline constexpr int kSysprotoControl = 2;
inline constexpr int kAfLink = 18;
inline constexpr int kSoNosigpipe = 0x1022;
inline constexpr int kMaxKctlName = 96;
inline constexpr int kIffUp = 0x1;
inline constexpr int kIffBroadcast = 0x2;
inline constexpr int kIffPointopoint = 0x10;
inline constexpr int kIffRunning = 0x40;
inline constexpr int kIffSimplex = 0x800;
inline constexpr int kIffMulticast = 0x8000;

// ---- structures (LP64 layouts)
struct DarwinSockaddr {
    std::uint8_t sa_len;
    std::uint8_t sa_family;
    char sa_data[14];
};

struct DarwinIfdevmtu {
    int ifdm_current;
    int ifdm_min;
    int ifdm_max;
};

// struct ifreq (bsd/net/if.h): a name and a 16-byte union. The members
// are spelled as glibc spells them (ifr_name is ifr_ifrn.ifrn_name, ifr_mtu
// ifr_ifru.ifru_mtu, ...), so that the ifr_* macros of either <net/if.h>
// (glibc's in the model, the shim's in the backends) reach them.
struct DarwinIfreq {
    union {
        char ifrn_name[16];
    } ifr_ifrn;
    union {
        DarwinSockaddr ifru_addr;
        short ifru_flags;
        int ifru_mtu;
        void* ifru_data;
        DarwinIfdevmtu ifru_devmtu;
    } ifr_ifru;
};
static_assert(sizeof(DarwinIfreq) == 32);
static_assert(offsetof(DarwinIfreq, ifr_ifru) == 16);

// struct ifdrv (bsd/net/if.h), #pragma pack(4).
#pragma pack(push, 4)
struct DarwinIfdrv {
    char ifd_name[16];
    unsigned long ifd_cmd;
    std::size_t ifd_len;
    void* ifd_data;
};
#pragma pack(pop)
static_assert(sizeof(DarwinIfdrv) == 40);

// struct ctl_info and struct sockaddr_ctl (bsd/sys/kern_control.h).
struct DarwinCtlInfo {
    std::uint32_t ctl_id;
    char ctl_name[kMaxKctlName];
};
static_assert(sizeof(DarwinCtlInfo) == 100);

struct DarwinSockaddrCtl {
    std::uint8_t sc_len;
    std::uint8_t sc_family;
    std::uint16_t ss_sysaddr;
    std::uint32_t sc_id;
    std::uint32_t sc_unit;
    std::uint32_t sc_reserved[5];
};
static_assert(sizeof(DarwinSockaddrCtl) == 32);

// struct sockaddr_dl (bsd/net/if_dl.h): a link-level address, the AF_LINK
// entry getifaddrs gives for each interface; the name, then the address
// (LLADDR), in sdl_data.
struct DarwinSockaddrDl {
    std::uint8_t sdl_len;
    std::uint8_t sdl_family;
    std::uint16_t sdl_index;
    std::uint8_t sdl_type;
    std::uint8_t sdl_nlen;
    std::uint8_t sdl_alen;
    std::uint8_t sdl_slen;
    char sdl_data[12];
};
static_assert(sizeof(DarwinSockaddrDl) == 20);

} // namespace feth::darwin_model
