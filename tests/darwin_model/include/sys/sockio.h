// Darwin's <sys/sockio.h> for the model build (tests/darwin_model).
#pragma once

#include "../../abi.hpp"

#define SIOCIFCREATE2 (::feth::darwin_model::kSiocIfcreate2)
#define SIOCIFDESTROY (::feth::darwin_model::kSiocIfdestroy)
#define SIOCSIFLLADDR (::feth::darwin_model::kSiocSiflladdr)
#define SIOCSDRVSPEC (::feth::darwin_model::kSiocSdrvspec)
#define SIOCGDRVSPEC (::feth::darwin_model::kSiocGdrvspec)
#define SIOCGIFFLAGS (::feth::darwin_model::kSiocGifflags)
#define SIOCSIFFLAGS (::feth::darwin_model::kSiocSifflags)
#define SIOCGIFMTU (::feth::darwin_model::kSiocGifmtu)
#define SIOCSIFMTU (::feth::darwin_model::kSiocSifmtu)
#define SIOCGIFDEVMTU (::feth::darwin_model::kSiocGifdevmtu)
