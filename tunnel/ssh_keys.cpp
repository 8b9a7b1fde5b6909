#include "ssh_keys.hpp"

namespace feth {

std::string key_type_label(ssh_key key)
{
    switch (ssh_key_type(key)) {
    case SSH_KEYTYPE_ED25519: return "ED25519";
    case SSH_KEYTYPE_RSA: return "RSA";
    case SSH_KEYTYPE_ECDSA_P256:
    case SSH_KEYTYPE_ECDSA_P384:
    case SSH_KEYTYPE_ECDSA_P521: return "ECDSA";
    default: {
        const char* name = ssh_key_type_to_char(ssh_key_type(key));
        return name != nullptr ? name : "UNKNOWN";
    }
    }
}

std::string key_fingerprint(ssh_key key)
{
    unsigned char* hash = nullptr;
    size_t len = 0;
    if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) != SSH_OK) return "?";
    char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, len);
    ssh_clean_pubkey_hash(&hash);
    std::string out = fp != nullptr ? fp : "?";
    ssh_string_free_char(fp);
    return out;
}

} // namespace feth
