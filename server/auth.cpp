#include "auth.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grp.h>

#include <array>
#include <climits>
#include <cerrno>
#include <cstdlib>
#include <ctime>

#include "groups.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"
#include "tunnel/ssh_handles.hpp"
#include "tunnel/ssh_keys.hpp"

namespace feth::server {
namespace {

constexpr std::size_t kMaxKeysFile = 1 << 20;

// sshd's temporarily_use_uid(): file access with the user's uid and groups,
// restored on every path. Failing to restore root is fatal.
class TemporaryUid {
public:
    explicit TemporaryUid(const UserInfo& user)
    {
        if (::geteuid() != 0 || user.uid == 0) return;
        // The kernel's own list (at most 16 on macOS: the build does not ask
        // for _DARWIN_C_SOURCE's unlimited getgroups), so restore() can set it.
        int n = ::getgroups(0, nullptr);
        if (n < 0) throw_errno("user " + user.name, "getgroups");
        saved_groups_.resize(static_cast<std::size_t>(n));
        if (n > 0 && ::getgroups(n, saved_groups_.data()) < 0) throw_errno("user " + user.name, "getgroups");
        // initgroups' list, clamped to what setgroups takes here (16 on
        // macOS, where admin accounts are often in more).
        const std::vector<gid_t> groups =
            group_access_list(user.name, user.gid, database_groups, max_supplementary_groups());
        active_ = true;
        if (::setgroups(groups.size(), groups.data()) != 0 || ::setegid(user.gid) != 0 || ::seteuid(user.uid) != 0) {
            int err = errno;
            restore();
            throw SystemError("user " + user.name, "setgroups/setegid/seteuid", err);
        }
    }
    ~TemporaryUid() { restore(); }
    TemporaryUid(const TemporaryUid&) = delete;
    TemporaryUid& operator=(const TemporaryUid&) = delete;

private:
    void restore() noexcept
    {
        if (!active_) return;
        active_ = false;
        if (::seteuid(0) != 0 || ::setegid(0) != 0 || ::setgroups(saved_groups_.size(), saved_groups_.data()) != 0) {
            LOG_FATAL("cannot restore root after reading a user's files: %s", errno_text(errno).c_str());
            std::abort();
        }
    }
    bool active_ = false;
    std::vector<gid_t> saved_groups_;
};

// StrictModes, as sshd's auth_secure_path: on the canonical path (no
// symlink left in it), the file and every directory above it, up to the
// user's home or /, must be owned by root or the user and not writable by
// group or others. sshd makes no exception for sticky directories (/tmp),
// nor does this. Each directory is checked on a descriptor opened without
// following a symlink, so a component swapped for a link is refused, not
// followed. Returns sshd's reason, or "" when safe.
std::string secure_path_problem(const std::string& real, const struct stat& file_st, unsigned uid,
                                const std::string& real_home)
{
    auto bad = [uid](const struct stat& st) { return (st.st_uid != 0 && st.st_uid != uid) || (st.st_mode & 022) != 0; };
    if (bad(file_st)) return "bad ownership or modes for file " + real;
#if defined(O_PATH)
    // Search permission is all stat needs: a 0711 directory passes, as in sshd.
    constexpr int kDirFlags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
#else
    constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
#endif
    std::string dir = real;
    for (;;) {
        auto slash = dir.find_last_of('/');
        if (slash == std::string::npos) return {};
        dir.resize(slash == 0 ? 1 : slash);
        UniqueFd fd(::open(dir.c_str(), kDirFlags));
        struct stat st {};
        if (!fd || ::fstat(fd.get(), &st) != 0 || bad(st)) return "bad ownership or modes for directory " + dir;
        if (!real_home.empty() && dir == real_home) return {};
        if (dir == "/") return {};
    }
}

std::string canonical(const std::string& path)
{
    std::array<char, PATH_MAX> buf{};
    return ::realpath(path.c_str(), buf.data()) != nullptr ? std::string(buf.data()) : std::string();
}

// Reads at most kMaxKeysFile bytes; a missing file is simply no keys.
} // namespace

std::optional<std::string> read_authorized_keys_file(const std::string& path, unsigned uid, const std::string& home)
{
    // The real path first: the checks below walk what the kernel will
    // open, not the path as written (L7: a symlinked ~/.ssh's target).
    const std::string real = canonical(path);
    if (real.empty()) {
        if (errno != ENOENT) LOG_ERROR("Could not open user's authorized keys file %s: realpath: %s", path.c_str(),
                                       errno_text(errno).c_str());
        return std::nullopt;
    }
    UniqueFd fd(::open(real.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!fd) {
        if (errno != ENOENT) LOG_ERROR("Could not open user's authorized keys file %s: %s", path.c_str(),
                                       errno_text(errno).c_str());
        return std::nullopt;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        LOG_ERROR("User's authorized keys file %s is not a regular file", path.c_str());
        return std::nullopt;
    }
    if (std::string problem = secure_path_problem(real, st, uid, canonical(home)); !problem.empty()) {
        LOG_ERROR("Authentication refused: %s", problem.c_str());
        return std::nullopt;
    }
    std::string text;
    std::array<char, 8192> buf{};
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            LOG_ERROR("Could not read authorized keys file %s: %s", path.c_str(), errno_text(errno).c_str());
            return std::nullopt;
        }
        if (n == 0) break;
        if (text.size() + static_cast<std::size_t>(n) > kMaxKeysFile) {
            LOG_ERROR("Authorized keys file %s is larger than %zu bytes; ignoring it", path.c_str(), kMaxKeysFile);
            return std::nullopt;
        }
        text.append(buf.data(), static_cast<std::size_t>(n));
    }
    return text;
}

std::optional<UserInfo> lookup_user(const std::string& name)
{
    if (name.empty() || name.size() > 256) return std::nullopt;
    struct passwd pw {};
    struct passwd* result = nullptr;
    std::array<char, 16384> buf{};
    if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &result) != 0 || result == nullptr)
        return std::nullopt;
    return UserInfo{pw.pw_name, pw.pw_dir ? pw.pw_dir : "/", pw.pw_uid, pw.pw_gid};
}

std::string describe_key(ssh_key key)
{
    return key_type_label(key) + " " + key_fingerprint(key);
}

std::optional<KeyMatch> find_authorized_key(const config::ServerConfig& cfg, const UserInfo& user, ssh_key key,
                                            const std::string& peer_address)
{
    for (const auto& pattern : cfg.authorized_keys_files) {
        if (pattern == "none") continue;
        std::string path;
        try {
            path = config::expand_authorized_keys_path(pattern, user.name, user.home);
        } catch (const std::exception& e) {
            LOG_ERROR("AuthorizedKeysFile %s: %s", pattern.c_str(), e.what());
            continue;
        }
        std::optional<std::string> text;
        {
            TemporaryUid as_user(user);
            text = read_authorized_keys_file(path, user.uid, user.home);
        }
        if (!text) continue;
        auto parsed = config::parse_authorized_keys(*text);
        for (const auto& err : parsed.errors) LOG_VERBOSE("%s %s", path.c_str(), err.c_str());
        for (const auto& entry : parsed.keys) {
            if (!config::is_supported_key_type(entry.type)) continue;
            ssh_key raw = nullptr;
            if (ssh_pki_import_pubkey_base64(entry.base64.c_str(), ssh_key_type_from_name(entry.type.c_str()), &raw) !=
                SSH_OK) {
                LOG_VERBOSE("%s line %zu: cannot decode the %s key", path.c_str(), entry.line, entry.type.c_str());
                continue;
            }
            KeyPtr candidate(raw);
            if (ssh_key_cmp(candidate.get(), key, SSH_KEY_CMP_PUBLIC) != 0) continue;
            const std::string loc = path + ":" + std::to_string(entry.line);
            std::string problem;
            auto options = config::evaluate_key_options(entry.options, problem);
            if (!options) {
                LOG_INFO("%s: bad key options: %s; the key on this line is not usable", loc.c_str(), problem.c_str());
                continue;
            }
            std::string refusal;
            if (!config::authorise_key(*options, user.name, peer_address, peer_address, std::time(nullptr), loc,
                                       refusal)) {
                LOG_INFO("%s", refusal.c_str());
                continue;
            }
            return KeyMatch{path, entry.line, std::move(*options)};
        }
    }
    return std::nullopt;
}

} // namespace feth::server
