// Included before every Darwin backend source in the model build (-include):
// the Darwin-only names the backends take from <sys/socket.h> and <string.h>,
// which glibc does not have. Values: darwin_model/abi.hpp.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <cstring>

#include "abi.hpp"

#define AF_NDRV (::feth::darwin_model::kAfNdrv)
#define PF_SYSTEM (::feth::darwin_model::kPfSystem)
#define AF_SYSTEM (::feth::darwin_model::kPfSystem)
#define AF_LINK (::feth::darwin_model::kAfLink)
#define SO_NOSIGPIPE (::feth::darwin_model::kSoNosigpipe)

// glibc has strlcpy only from 2.38.
inline std::size_t feth_model_strlcpy(char* dst, const char* src, std::size_t size)
{
    std::size_t len = std::strlen(src);
    if (size != 0) {
        std::size_t n = len < size - 1 ? len : size - 1;
        std::memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}
#define strlcpy feth_model_strlcpy
