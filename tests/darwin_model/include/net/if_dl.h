// Darwin's <net/if_dl.h> for the model build (tests/darwin_model): struct
// sockaddr_dl and LLADDR, as getifaddrs's AF_LINK entries carry them.
#pragma once

#include "../../abi.hpp"

struct sockaddr_dl : ::feth::darwin_model::DarwinSockaddrDl {};
#define LLADDR(s) ((s)->sdl_data + (s)->sdl_nlen)
