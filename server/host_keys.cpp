#include "host_keys.hpp"

#include <sys/stat.h>

#include <cerrno>

#include "pubkey_auth.hpp"
#include "tunnel/error.hpp"
#include "tunnel/log.hpp"
#include "tunnel/ssh_handles.hpp"

namespace feth::server {
namespace {

void make_private_dir(const std::string& dir)
{
    // Make each missing component; the last one private.
    for (std::size_t pos = 1; pos != std::string::npos;) {
        pos = dir.find('/', pos + 1);
        std::string part = dir.substr(0, pos);
        if (::mkdir(part.c_str(), pos == std::string::npos ? 0700 : 0755) != 0 && errno != EEXIST)
            throw_errno("state directory " + part, "mkdir");
    }
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) throw_errno("state directory " + dir, "stat");
    if (!S_ISDIR(st.st_mode)) throw SystemError("state directory " + dir, "stat", ENOTDIR);
}

void generate_ed25519(const std::string& path)
{
    ssh_key raw = nullptr;
    // No PKI context: ed25519 has no parameters to choose (libssh 0.12
    // deprecates ssh_pki_generate() for this call).
    if (ssh_pki_generate_key(SSH_KEYTYPE_ED25519, nullptr, &raw) != SSH_OK)
        throw InputError("host key " + path + ": generating an ed25519 key failed");
    KeyPtr key(raw);
    std::string tmp = path + ".new";
    mode_t old = ::umask(077);
    int rc = ssh_pki_export_privkey_file(key.get(), nullptr, nullptr, nullptr, tmp.c_str());
    ::umask(old);
    if (rc != SSH_OK) {
        ::unlink(tmp.c_str());
        throw InputError("host key " + path + ": writing " + tmp + " failed");
    }
    if (::chmod(tmp.c_str(), 0600) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw SystemError("host key " + path, "rename", err);
    }
    LOG_INFO("Generated host key %s", path.c_str());
}

} // namespace

std::vector<std::string> resolve_host_keys(const std::vector<std::string>& configured,
                                           const std::string& state_dir)
{
    if (!configured.empty()) return configured;
    make_private_dir(state_dir);
    std::string path = state_dir + "/ssh_host_ed25519_key";
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno != ENOENT) throw_errno("host key " + path, "stat");
        generate_ed25519(path);
    }
    return {path};
}

HostKeys HostKeys::load(const std::vector<std::string>& paths)
{
    HostKeys out;
    for (const auto& path : paths) {
        ssh_key raw = nullptr;
        if (ssh_pki_import_privkey_file(path.c_str(), nullptr, nullptr, nullptr, &raw) != SSH_OK || raw == nullptr)
            throw InputError("host key " + path + ": cannot load it (missing, unreadable or not a private key)");
        KeyPtr key(raw);
        if (ssh_key_is_private(key.get()) != 1) throw InputError("host key " + path + ": not a private key");
        std::string blob = public_key_blob(key.get());
        out.keys_.push_back(Key{path, std::move(key), std::move(blob)});
    }
    return out;
}

void HostKeys::import_public_keys(ssh_bind bind) const
{
    for (const auto& k : keys_) {
        ssh_key pub = nullptr;
        if (ssh_pki_export_privkey_to_pubkey(k.key.get(), &pub) != SSH_OK || pub == nullptr)
            throw InputError("host key " + k.path + ": cannot take its public half");
        // The bind takes ownership of the key.
        if (ssh_bind_options_set(bind, SSH_BIND_OPTIONS_IMPORT_KEY, pub) != SSH_OK) {
            ssh_key_free(pub);
            throw InputError("host key " + k.path + ": " + ssh_get_error(bind));
        }
    }
}

ssh_key HostKeys::find(std::string_view blob) const
{
    for (const auto& k : keys_)
        if (k.blob == blob) return k.key.get();
    return nullptr;
}

} // namespace feth::server
