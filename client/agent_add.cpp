#include "client/agent_add.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>

#include <openssl/evp.h>

#include "agent_wire.hpp"
#include "ssh_wire.hpp"
#include "base/error.hpp"

namespace feth::client {
namespace {

using ssh_wire::put_string;
using ssh_wire::put_u32;
using ssh_wire::Reader;

// The base64 between the PEM-style armour lines of libssh's OpenSSH export.
std::string decode_openssh_export(const std::string& armoured)
{
    static constexpr std::string_view kBegin = "-----BEGIN OPENSSH PRIVATE KEY-----";
    static constexpr std::string_view kEnd = "-----END OPENSSH PRIVATE KEY-----";
    const auto b = armoured.find(kBegin);
    const auto e = armoured.find(kEnd);
    if (b == std::string::npos || e == std::string::npos || e < b)
        throw InputError("AddKeysToAgent: libssh did not export the key in OpenSSH's format");
    std::string b64;
    for (char c : std::string_view(armoured).substr(b + kBegin.size(), e - b - kBegin.size()))
        if (c != '\n' && c != '\r' && c != ' ') b64.push_back(c);
    if (b64.size() % 4 != 0) throw InputError("AddKeysToAgent: bad base64 in the exported key");
    std::string out(b64.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
    if (n < 0) throw InputError("AddKeysToAgent: bad base64 in the exported key");
    std::size_t len = static_cast<std::size_t>(n);
    if (b64.size() >= 1 && b64[b64.size() - 1] == '=') --len;
    if (b64.size() >= 2 && b64[b64.size() - 2] == '=') --len;
    out.resize(len);
    return out;
}

// How many strings (mpints are strings on the wire) follow the key type in
// OpenSSH's private key serialisation, which is also the agent's.
std::size_t private_fields(std::string_view type)
{
    if (type == "ssh-ed25519") return 2;                        // public, private||public
    if (type.substr(0, 11) == "ecdsa-sha2-") return 3;          // curve, Q, d
    if (type == "ssh-rsa") return 6;                            // n, e, d, iqmp, p, q
    return 0;
}

} // namespace

std::string agent_add_identity_message(ssh_key key, const std::string& comment, unsigned lifetime, bool confirm)
{
    char* raw = nullptr;
    if (ssh_pki_export_privkey_base64_format(key, nullptr, nullptr, nullptr, &raw, SSH_FILE_FORMAT_OPENSSH) != SSH_OK ||
        raw == nullptr)
        throw InputError("AddKeysToAgent: libssh cannot export the key");
    std::unique_ptr<char, void (*)(char*)> armoured(raw, ssh_string_free_char);
    const std::string container = decode_openssh_export(armoured.get());
    // openssh-key-v1: magic, cipher "none", kdf "none", kdf options, one
    // key, its public blob, then the private section.
    static constexpr std::string_view kMagic("openssh-key-v1\0", 15);
    std::string_view key_fields; // type and private fields, as ADD_IDENTITY takes them
    try {
        Reader r(container);
        if (r.bytes(kMagic.size()) != kMagic) throw InputError("AddKeysToAgent: not an openssh-key-v1 export");
        if (r.string() != "none" || r.string() != "none")
            throw InputError("AddKeysToAgent: the exported key is encrypted");
        (void)r.string(); // kdf options
        if (r.u32() != 1) throw InputError("AddKeysToAgent: the export holds more than one key");
        (void)r.string(); // public key blob
        const std::string_view private_section = r.string();
        Reader priv(private_section);
        if (priv.u32() != priv.u32()) throw InputError("AddKeysToAgent: the exported key's check bytes differ");
        const std::size_t start = priv.pos();
        const std::string_view type = priv.string();
        const std::size_t fields = private_fields(type);
        if (fields == 0) throw InputError("AddKeysToAgent: key type " + std::string(type) + " is not supported");
        for (std::size_t i = 0; i < fields; ++i) (void)priv.string();
        key_fields = private_section.substr(start, priv.pos() - start);
    } catch (const ssh_wire::Truncated&) {
        throw InputError("AddKeysToAgent: the exported key is truncated");
    }

    std::string body;
    const bool constrained = lifetime != 0 || confirm;
    body.push_back(static_cast<char>(constrained ? agent_wire::kAddIdConstrained : agent_wire::kAddIdentity));
    body.append(key_fields);
    put_string(body, comment);
    if (lifetime != 0) {
        body.push_back(static_cast<char>(agent_wire::kConstrainLifetime));
        put_u32(body, lifetime);
    }
    if (confirm) body.push_back(static_cast<char>(agent_wire::kConstrainConfirm));
    std::string message;
    put_string(message, body);
    // The key material is in `container` and `armoured` too: wipe them.
    OPENSSL_cleanse(const_cast<char*>(container.data()), container.size());
    OPENSSL_cleanse(armoured.get(), std::strlen(armoured.get()));
    return message;
}

bool agent_request(int fd, const std::string& message, std::string& error)
{
    const auto answer = agent_wire::exchange(fd, message, error);
    if (!answer) return false;
    if (static_cast<std::uint8_t>((*answer)[0]) == agent_wire::kSuccess) return true;
    error = "the agent refused the key (answer " + std::to_string(static_cast<std::uint8_t>((*answer)[0])) + ")";
    return false;
}

} // namespace feth::client
