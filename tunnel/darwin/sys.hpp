// Every operating-system call the Darwin backends (tunnel/darwin/*.cpp)
// make, in one place. On Apple each is an inline forward to the system's
// own function: the same code, no cost. Elsewhere the only build of these
// backends is the Linux test build that runs them against a model of xnu
// (tests/darwin_model): there these are declared here and defined by the
// model's client, so the exact backend code runs in the Linux suite.
// A call site writes sys::ioctl(...) where it would write ::ioctl(...).
// Descriptor flags (fcntl) and close() stay the system's: a modelled
// descriptor is a real socket whose open file carries O_NONBLOCK and whose
// last close the model sees, as Darwin's open file does.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <ctime>

#if defined(__APPLE__)
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/sysctl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uuid/uuid.h>
#else
struct if_nameindex;
struct ifaddrs;
struct iovec;
struct sockaddr;
#endif

namespace feth::darwin::sys {

#if defined(__APPLE__)

inline int open(const char* path, int flags) { return ::open(path, flags); }
inline ssize_t read(int fd, void* buf, std::size_t len) { return ::read(fd, buf, len); }
inline ssize_t recv(int fd, void* buf, std::size_t len, int flags) { return ::recv(fd, buf, len, flags); }
inline ssize_t send(int fd, const void* buf, std::size_t len, int flags) { return ::send(fd, buf, len, flags); }
inline ssize_t writev(int fd, const iovec* iov, int count) { return ::writev(fd, iov, count); }
inline int ioctl(int fd, unsigned long request, void* arg) { return ::ioctl(fd, request, arg); }
inline int socket(int domain, int type, int protocol) { return ::socket(domain, type, protocol); }
inline int bind(int fd, const sockaddr* addr, socklen_t len) { return ::bind(fd, addr, len); }
inline int connect(int fd, const sockaddr* addr, socklen_t len) { return ::connect(fd, addr, len); }
inline int setsockopt(int fd, int level, int name, const void* value, socklen_t len)
{
    return ::setsockopt(fd, level, name, value, len);
}
inline int getsockopt(int fd, int level, int name, void* value, socklen_t* len)
{
    return ::getsockopt(fd, level, name, value, len);
}
inline int sysctlbyname(const char* name, void* old_value, std::size_t* old_len, void* new_value,
                        std::size_t new_len)
{
    return ::sysctlbyname(name, old_value, old_len, new_value, new_len);
}
inline unsigned if_nametoindex(const char* name) { return ::if_nametoindex(name); }
inline struct if_nameindex* if_nameindex() { return ::if_nameindex(); }
inline void if_freenameindex(struct if_nameindex* list) { ::if_freenameindex(list); }
inline int getifaddrs(struct ifaddrs** list) { return ::getifaddrs(list); }
inline void freeifaddrs(struct ifaddrs* list) { ::freeifaddrs(list); }
inline int gethostuuid(unsigned char* id, const timespec* wait) { return ::gethostuuid(id, wait); }

#else // the model of xnu (tests/darwin_model/model_client.cpp)

int open(const char* path, int flags);
ssize_t read(int fd, void* buf, std::size_t len);
ssize_t recv(int fd, void* buf, std::size_t len, int flags);
ssize_t send(int fd, const void* buf, std::size_t len, int flags);
ssize_t writev(int fd, const iovec* iov, int count);
int ioctl(int fd, unsigned long request, void* arg);
int socket(int domain, int type, int protocol);
int bind(int fd, const sockaddr* addr, socklen_t len);
int connect(int fd, const sockaddr* addr, socklen_t len);
int setsockopt(int fd, int level, int name, const void* value, socklen_t len);
int getsockopt(int fd, int level, int name, void* value, socklen_t* len);
int sysctlbyname(const char* name, void* old_value, std::size_t* old_len, void* new_value, std::size_t new_len);
unsigned if_nametoindex(const char* name);
struct if_nameindex* if_nameindex();
void if_freenameindex(struct if_nameindex* list);
int getifaddrs(struct ifaddrs** list);
void freeifaddrs(struct ifaddrs* list);
int gethostuuid(unsigned char* id, const timespec* wait);

#endif

} // namespace feth::darwin::sys
