#include "host_keys.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "pubkey_auth.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"
#include "tunnel/ssh_handles.hpp"

namespace feth::server {
namespace {

constexpr std::size_t kMaxKeyFile = 64 * 1024;

// libssh's malloc'd key text: burned, then freed.
struct BurnAndFree {
    void operator()(char* p) const
    {
        if (p == nullptr) return;
        burn(p, std::strlen(p));
        std::free(p);
    }
};

void make_private_dir(const std::string& dir)
{
    // Make each missing component; the last one private.
    for (std::size_t pos = 1; pos != std::string::npos;) {
        pos = dir.find('/', pos + 1);
        std::string part = dir.substr(0, pos);
        if (::mkdir(part.c_str(), pos == std::string::npos ? 0700 : 0755) != 0 && errno != EEXIST)
            throw_errno("state directory " + part, "mkdir");
    }
    // An existing directory must be ours and writable by nobody else (L3):
    // whoever could write there could swap the host key. Checked on the
    // open directory, so what is checked is what is used.
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw_errno("state directory " + dir, "open");
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno("state directory " + dir, "fstat");
    if (!S_ISDIR(st.st_mode)) throw SystemError("state directory " + dir, "stat", ENOTDIR);
    if (st.st_uid != ::geteuid())
        throw InputError("state directory " + dir + ": owned by uid " + std::to_string(st.st_uid) + ", not by uid " +
                         std::to_string(::geteuid()));
    if ((st.st_mode & 022) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        throw InputError("state directory " + dir + ": mode " + mode + " lets others write to it");
    }
}

void generate_ed25519(const std::string& path)
{
    ssh_key raw = nullptr;
    // No PKI context: ed25519 has no parameters to choose (libssh 0.12
    // deprecates ssh_pki_generate() for this call).
    if (ssh_pki_generate_key(SSH_KEYTYPE_ED25519, nullptr, &raw) != SSH_OK)
        throw InputError("host key " + path + ": generating an ed25519 key failed");
    KeyPtr key(raw);
    char* b64 = nullptr;
    if (ssh_pki_export_privkey_base64(key.get(), nullptr, nullptr, nullptr, &b64) != SSH_OK || b64 == nullptr)
        throw InputError("host key " + path + ": exporting the new key failed");
    std::unique_ptr<char, BurnAndFree> text(b64);
    const std::string tmp = path + ".new";
    // Mode 0600 from the first byte, never through a symlink, never into
    // a file someone else made: a stale .new (a crash) is removed first
    // (unlink removes a planted symlink itself, not its target).
    if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) throw_errno("host key " + tmp, "unlink");
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) throw_errno("host key " + tmp, "open");
    const std::size_t len = std::strlen(text.get());
    std::size_t done = 0;
    while (done < len) {
        ssize_t n = ::write(fd.get(), text.get() + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int err = n < 0 ? errno : EIO;
            ::unlink(tmp.c_str());
            throw SystemError("host key " + tmp, "write", err);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw SystemError("host key " + path, "rename", err);
    }
    LOG_INFO("Generated host key %s", path.c_str());
}

// sshd's sshkey_perm_ok, plus the owner (L3): a host key readable by
// anyone but its owner, or owned by another user than the server's, is
// not loaded. Reads the checked descriptor, so the check and the key
// are the same file. Empty: refused (already logged).
SecretText read_host_key(const std::string& path)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) throw InputError("host key " + path + ": cannot load it (" + errno_text(errno) + ")");
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno("host key " + path, "fstat");
    if (!S_ISREG(st.st_mode)) throw InputError("host key " + path + ": not a regular file");
    if ((st.st_mode & 077) != 0) {
        LOG_ERROR("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@");
        LOG_ERROR("@         WARNING: UNPROTECTED PRIVATE KEY FILE!          @");
        LOG_ERROR("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@");
        LOG_ERROR("Permissions 0%3.3o for '%s' are too open.", static_cast<unsigned>(st.st_mode & 0777), path.c_str());
        LOG_ERROR("It is required that your private key files are NOT accessible by others.");
        LOG_ERROR("This private key will be ignored.");
        return SecretText();
    }
    if (st.st_uid != ::geteuid()) {
        LOG_ERROR("Host key '%s' is owned by uid %u, not by uid %u: this private key will be ignored.", path.c_str(),
                  static_cast<unsigned>(st.st_uid), static_cast<unsigned>(::geteuid()));
        return SecretText();
    }
    if (st.st_size > static_cast<off_t>(kMaxKeyFile)) throw InputError("host key " + path + ": larger than 64 KiB");
    // Read into its final buffer (no copy left behind by a reallocation);
    // burned when dropped.
    std::string text(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::read(fd.get(), text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("host key " + path, "read");
        if (n == 0) break;
        done += static_cast<std::size_t>(n);
    }
    text.resize(done);
    SecretText secret(std::move(text));
    if (secret.empty()) throw InputError("host key " + path + ": empty file");
    return secret;
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
    std::vector<HostKeyText> texts;
    for (const auto& path : paths) {
        SecretText text = read_host_key(path);
        if (text.empty()) {
            LOG_ERROR("Unable to load host key: %s", path.c_str());
            continue;
        }
        texts.push_back(HostKeyText{path, std::move(text)});
    }
    // sshd: "no hostkeys available -- exiting."
    if (texts.empty() && !paths.empty()) throw InputError("no hostkeys available -- exiting.");
    return from_texts(std::move(texts));
}

HostKeys HostKeys::from_texts(std::vector<HostKeyText> texts)
{
    HostKeys out;
    for (const auto& t : texts) {
        ssh_key raw = nullptr;
        if (ssh_pki_import_privkey_base64(t.text.c_str(), nullptr, nullptr, nullptr, &raw) != SSH_OK ||
            raw == nullptr)
            throw InputError("host key " + t.path + ": cannot load it (missing, unreadable or not a private key)");
        KeyPtr key(raw);
        if (ssh_key_is_private(key.get()) != 1) throw InputError("host key " + t.path + ": not a private key");
        std::string blob = public_key_blob(key.get());
        out.keys_.push_back(Key{t.path, std::move(key), std::move(blob)});
    }
    out.texts_ = std::move(texts);
    return out;
}

std::vector<std::string> HostKeys::public_blobs() const
{
    std::vector<std::string> out;
    for (const auto& k : keys_) out.push_back(k.blob);
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
