#if defined(__APPLE__)
#define __STDC_WANT_LIB_EXT1__ 1
#endif
#include "secret.hpp"

#include <string.h>

namespace feth {

void burn(void* data, std::size_t size) noexcept
{
    if (data == nullptr || size == 0) return;
#if defined(__APPLE__)
    (void)::memset_s(data, size, 0, size);
#else
    ::explicit_bzero(data, size);
#endif
}

} // namespace feth
