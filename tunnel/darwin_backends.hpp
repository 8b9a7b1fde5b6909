// Which tunnel backends this build has, decided once: the Darwin ones (feth,
// utun) on Apple, and in the Linux test build that runs them against a
// model of xnu (tests/darwin_model, which defines FETH_DARWIN_BACKENDS=1);
// the Linux ones (tap, tun, pair) on Linux otherwise. Never both: "auto"
// must pick one backend per mode.
#pragma once

#if !defined(FETH_DARWIN_BACKENDS)
#if defined(__APPLE__)
#define FETH_DARWIN_BACKENDS 1
#else
#define FETH_DARWIN_BACKENDS 0
#endif
#endif

#if defined(__linux__) && !FETH_DARWIN_BACKENDS
#define FETH_LINUX_BACKENDS 1
#else
#define FETH_LINUX_BACKENDS 0
#endif
