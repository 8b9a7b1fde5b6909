// Darwin's <net/if.h> for the model build (tests/darwin_model): Darwin's
// struct ifreq (its ifr_addr has sa_len), struct ifdrv, struct ifdevmtu.
#pragma once

#include "../../abi.hpp"

#define IFNAMSIZ 16
#define IF_NAMESIZE 16
#define IFF_UP (::feth::darwin_model::kIffUp)
#define IFF_BROADCAST (::feth::darwin_model::kIffBroadcast)
#define IFF_POINTOPOINT (::feth::darwin_model::kIffPointopoint)
#define IFF_RUNNING (::feth::darwin_model::kIffRunning)
#define IFF_SIMPLEX (::feth::darwin_model::kIffSimplex)
#define IFF_MULTICAST (::feth::darwin_model::kIffMulticast)

struct ifreq : ::feth::darwin_model::DarwinIfreq {};
#define ifr_name ifr_ifrn.ifrn_name
#define ifr_addr ifr_ifru.ifru_addr
#define ifr_flags ifr_ifru.ifru_flags
#define ifr_mtu ifr_ifru.ifru_mtu
#define ifr_data ifr_ifru.ifru_data
#define ifr_devmtu ifr_ifru.ifru_devmtu
struct ifdrv : ::feth::darwin_model::DarwinIfdrv {};
struct ifdevmtu : ::feth::darwin_model::DarwinIfdevmtu {};

// As glibc and Darwin both declare them (same layout).
struct if_nameindex {
    unsigned int if_index;
    char* if_name;
};
