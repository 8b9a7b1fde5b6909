#include "auth.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "tunnel/error.hpp"
#include "tunnel/fd.hpp"
#include "tunnel/log.hpp"
#include "tunnel/ssh_handles.hpp"

namespace feth::server {
namespace {

constexpr std::size_t kMaxKeysFile = 1 << 20;

// Reads at most kMaxKeysFile bytes; a missing file is simply no keys.
std::optional<std::string> read_keys_file(const std::string& path)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
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

const char* sshd_key_label(ssh_key key)
{
    switch (ssh_key_type(key)) {
    case SSH_KEYTYPE_ED25519: return "ED25519";
    case SSH_KEYTYPE_RSA: return "RSA";
    case SSH_KEYTYPE_ECDSA_P256:
    case SSH_KEYTYPE_ECDSA_P384:
    case SSH_KEYTYPE_ECDSA_P521: return "ECDSA";
    default: return "UNKNOWN";
    }
}

} // namespace

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
    unsigned char* hash = nullptr;
    size_t hlen = 0;
    std::string out = sshd_key_label(key);
    if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == SSH_OK) {
        char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
        if (fp != nullptr) {
            out += ' ';
            out += fp;
            ssh_string_free_char(fp);
        }
        ssh_clean_pubkey_hash(&hash);
    }
    return out;
}

std::optional<KeyMatch> find_authorized_key(const config::ServerConfig& cfg, const UserInfo& user, ssh_key key)
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
        auto text = read_keys_file(path);
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
            if (ssh_key_cmp(candidate.get(), key, SSH_KEY_CMP_PUBLIC) == 0)
                return KeyMatch{path, entry.line, entry.options};
        }
    }
    return std::nullopt;
}

} // namespace feth::server
