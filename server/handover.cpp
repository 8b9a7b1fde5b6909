#include "handover.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "base/byte_order.hpp"
#include "base/error.hpp"
#include "base/framed_messages.hpp"
#include "base/secret.hpp"
#include "sandbox.hpp"
#include "tunnel/ssh_algorithms.hpp"

// server/CMakeLists.txt sets it to the install's libexec directory; a
// compile without it (a syntax check) gets CMake's default prefix's.
#ifndef FETH_LIBEXEC_DIR
#define FETH_LIBEXEC_DIR "/usr/local/libexec"
#endif

namespace feth::server {
namespace {

using framing::Message;

// Bounds of the fields (the blob as a whole is bounded by kMaxSetup).
constexpr std::size_t kMaxItems = 4096;       // options, host keys
constexpr std::size_t kMaxPath = PATH_MAX;
constexpr std::size_t kMaxAddress = 64;       // a numeric IPv6 address with scope
constexpr std::size_t kMaxUser = 256;

// A message's payload, burned before it is freed: it may hold key text.
struct BurnedMessage {
    Message m;
    ~BurnedMessage() { burn(m.payload().data(), m.payload().capacity()); }
};

void write_all(int fd, const std::uint8_t* p, std::size_t n, const char* what)
{
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) throw_errno(what, "write");
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

void read_all(int fd, std::uint8_t* p, std::size_t n, const char* what)
{
    while (n > 0) {
        ssize_t r = ::read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) throw_errno(what, "read");
        if (r == 0) throw InputError(std::string(what) + ": the setup ended early");
        p += r;
        n -= static_cast<std::size_t>(r);
    }
}

void send_blob(int fd, const Message& m, const char* what)
{
    const auto& payload = m.payload();
    if (payload.size() > kMaxSetup) throw InputError(std::string(what) + ": the setup is larger than 4 MiB");
    std::uint8_t len[4];
    store_be32(len, static_cast<std::uint32_t>(payload.size()));
    write_all(fd, len, sizeof len, what);
    write_all(fd, payload.data(), payload.size(), what);
}

void recv_blob(int fd, Message& m, const char* what)
{
    std::uint8_t len[4];
    read_all(fd, len, sizeof len, what);
    const std::uint32_t n = load_be32(len);
    if (n > kMaxSetup) throw InputError(std::string(what) + ": a setup of " + std::to_string(n) + " bytes");
    m.payload().resize(n);
    read_all(fd, m.payload().data(), n, what);
}

std::size_t get_count(Message& m)
{
    const std::uint32_t n = m.get_u32();
    if (n > kMaxItems) throw InputError("setup: " + std::to_string(n) + " items in a list");
    return n;
}

void put_config(Message& m, const ConfigSource& c)
{
    m.put_u32(static_cast<std::uint32_t>(c.options.size()));
    for (const auto& o : c.options) m.put_string(o);
    m.put_string(c.file_name);
    m.put_string(c.file_text);
}

ConfigSource get_config(Message& m)
{
    ConfigSource c;
    for (std::size_t n = get_count(m); n > 0; --n) c.options.push_back(m.get_string(kMaxSetup));
    c.file_name = m.get_string(kMaxPath);
    c.file_text = m.get_string(kMaxSetup);
    return c;
}

void put_peer(Message& m, const Peer& p)
{
    m.put_string(p.address);
    m.put_u32(p.port);
}

Peer get_peer(Message& m)
{
    Peer p;
    p.address = m.get_string(kMaxAddress);
    p.port = m.get_u32();
    if (p.port > 65535) throw InputError("setup: port " + std::to_string(p.port));
    return p;
}

void put_identity(Message& m, const PrivsepIdentity& id)
{
    m.put_u32(id.enabled ? 1 : 0);
    m.put_string(id.user);
    m.put_u32(static_cast<std::uint32_t>(id.uid));
    m.put_u32(static_cast<std::uint32_t>(id.gid));
    m.put_string(id.chroot_dir);
}

PrivsepIdentity get_identity(Message& m)
{
    PrivsepIdentity id;
    id.enabled = m.get_u32() != 0;
    id.user = m.get_string(kMaxUser);
    id.uid = static_cast<uid_t>(m.get_u32());
    id.gid = static_cast<gid_t>(m.get_u32());
    id.chroot_dir = m.get_string(kMaxPath);
    if (id.enabled && (id.uid == 0 || id.gid == 0)) throw InputError("setup: privilege separation to uid or gid 0");
    return id;
}

log::Level get_level(Message& m)
{
    const std::uint32_t v = m.get_u32();
    if (v > static_cast<std::uint32_t>(log::Level::Debug3)) throw InputError("setup: log level " + std::to_string(v));
    return static_cast<log::Level>(v);
}

} // namespace

config::ServerConfig parse_config(const ConfigSource& source)
{
    config::ServerConfig cfg;
    config::ConfigParser parser(cfg, libssh_algorithm_support(config::AlgorithmRole::Server));
    for (const auto& o : source.options) parser.apply_option(o);
    if (!source.file_name.empty()) parser.apply_text(source.file_text, source.file_name);
    parser.finish();
    return cfg;
}

void send_session_setup(int fd, const SessionSetup& s, const char* what)
{
    BurnedMessage b;
    std::size_t size = 4096 + s.config.file_text.size();
    for (const auto& k : s.host_keys) size += k.path.size() + k.text.size() + 8;
    for (const auto& o : s.config.options) size += o.size() + 4;
    b.m.payload().reserve(size); // no reallocation leaves a copy of a key behind
    put_config(b.m, s.config);
    b.m.put_u32(static_cast<std::uint32_t>(s.host_keys.size()));
    for (const auto& k : s.host_keys) {
        b.m.put_string(k.path);
        b.m.put_string(k.text.str());
    }
    put_peer(b.m, s.peer);
    put_identity(b.m, s.identity);
    b.m.put_u32(static_cast<std::uint32_t>(s.log.level));
    b.m.put_u32(s.log.to_stderr ? 1 : 0);
    b.m.put_string(s.network_program);
    b.m.put_u32(s.status_table ? 1 : 0);
    send_blob(fd, b.m, what);
}

SessionSetup recv_session_setup(int fd, const char* what)
{
    BurnedMessage b;
    recv_blob(fd, b.m, what);
    SessionSetup s;
    try {
        s.config = get_config(b.m);
        for (std::size_t n = get_count(b.m); n > 0; --n) {
            HostKeyText k;
            k.path = b.m.get_string(kMaxPath);
            k.text = SecretText(b.m.get_string(kMaxSetup));
            s.host_keys.push_back(std::move(k));
        }
        s.peer = get_peer(b.m);
        s.identity = get_identity(b.m);
        s.log.level = get_level(b.m);
        s.log.to_stderr = b.m.get_u32() != 0;
        s.network_program = b.m.get_string(kMaxPath);
        s.status_table = b.m.get_u32() != 0;
        b.m.expect_end();
    } catch (const InputError& e) {
        throw InputError(std::string(what) + ": " + e.what());
    }
    return s;
}

void send_network_setup(int fd, const NetworkSetup& s, const char* what)
{
    Message m;
    put_config(m, s.config);
    m.put_u32(static_cast<std::uint32_t>(s.host_public_keys.size()));
    for (const auto& k : s.host_public_keys) m.put_string(k);
    put_peer(m, s.peer);
    put_identity(m, s.identity);
    m.put_u32(static_cast<std::uint32_t>(s.log_level));
    send_blob(fd, m, what);
}

NetworkSetup recv_network_setup(int fd, const char* what)
{
    Message m;
    recv_blob(fd, m, what);
    NetworkSetup s;
    try {
        s.config = get_config(m);
        for (std::size_t n = get_count(m); n > 0; --n) s.host_public_keys.push_back(m.get_string(kMaxSetup));
        s.peer = get_peer(m);
        s.identity = get_identity(m);
        s.log_level = get_level(m);
        m.expect_end();
    } catch (const InputError& e) {
        throw InputError(std::string(what) + ": " + e.what());
    }
    return s;
}

namespace {

std::string directory_of(const std::string& path)
{
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

// The running program's directory from argv[0]: as given when it names a
// path, else the first PATH entry that holds it. Empty when unknown.
std::string own_directory(const char* argv0)
{
    if (argv0 == nullptr || *argv0 == '\0') return {};
    std::string name = argv0;
    if (name.find('/') == std::string::npos) {
        const char* path = std::getenv("PATH");
        std::string dirs = path != nullptr ? path : "";
        for (std::size_t pos = 0; pos <= dirs.size();) {
            const auto colon = std::min(dirs.find(':', pos), dirs.size());
            std::string dir = dirs.substr(pos, colon - pos);
            if (dir.empty()) dir = ".";
            if (::access((dir + "/" + name).c_str(), X_OK) == 0) {
                name = dir + "/" + name;
                break;
            }
            pos = colon + 1;
        }
        if (name.find('/') == std::string::npos) return {};
    }
    char resolved[PATH_MAX];
    if (::realpath(name.c_str(), resolved) == nullptr) return {};
    return directory_of(resolved);
}

bool is_program(const std::string& path)
{
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

} // namespace

HelperPrograms find_helper_programs(const char* argv0)
{
    HelperPrograms h;
    // A build tree: the helpers are built beside feth-sshd.
    const std::string own = own_directory(argv0);
    if (!own.empty() && is_program(own + "/feth-sshd-session") && is_program(own + "/feth-sshd-net")) {
        h.session = own + "/feth-sshd-session";
        h.network = own + "/feth-sshd-net";
        return h;
    }
    h.session = std::string(FETH_LIBEXEC_DIR) + "/feth-sshd-session";
    h.network = std::string(FETH_LIBEXEC_DIR) + "/feth-sshd-net";
    for (const std::string* p : {&h.session, &h.network})
        if (!is_program(*p))
            throw InputError("helper program " + *p + " is missing or not executable (" + errno_text(errno) +
                             "); it is installed with feth-sshd");
    return h;
}

bool arrange_descriptors(std::initializer_list<int> sources)
{
    // Out of the way first, so that placing one cannot close another.
    constexpr int kAbove = 64;
    std::vector<int> high;
    for (int fd : sources) {
        const int src = fd >= 0 ? fd : ::open("/dev/null", O_RDWR);
        const int copy = src >= 0 ? ::fcntl(src, F_DUPFD_CLOEXEC, kAbove + static_cast<int>(high.size())) : -1;
        if (copy < 0) return false;
        high.push_back(copy);
    }
    for (std::size_t i = 0; i < high.size(); ++i)
        if (::dup2(high[i], static_cast<int>(i)) < 0) return false; // the copy at i is not close-on-exec
    close_descriptors_from(static_cast<int>(high.size()));
    return true;
}

} // namespace feth::server
