#include "pubkey_auth.hpp"

#include "base/error.hpp"

namespace feth::server {
namespace {

constexpr std::uint8_t kMsgUserauthRequest = 50;
constexpr std::size_t kMaxLoginName = 255;

void put_string(std::vector<std::uint8_t>& out, std::string_view s)
{
    const auto n = static_cast<std::uint32_t>(s.size());
    out.push_back(static_cast<std::uint8_t>(n >> 24));
    out.push_back(static_cast<std::uint8_t>(n >> 16));
    out.push_back(static_cast<std::uint8_t>(n >> 8));
    out.push_back(static_cast<std::uint8_t>(n));
    out.insert(out.end(), s.begin(), s.end());
}

bool in_list(std::string_view list, std::string_view name)
{
    while (!list.empty()) {
        auto comma = list.find(',');
        if (list.substr(0, comma) == name) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

} // namespace

std::string login_name_problem(std::string_view name)
{
    if (name.empty()) return "is empty";
    if (name.size() > kMaxLoginName) return "is longer than " + std::to_string(kMaxLoginName) + " bytes";
    for (unsigned char c : name) {
        if (c == 0) return "contains a NUL byte";
        if (c < 0x20 || c == 0x7f) return "contains a control byte";
    }
    return {};
}

bool user_key_algorithm_fits(std::string_view algorithm, ssh_key key)
{
    if (key == nullptr || !in_list(kUserKeyAlgorithms, algorithm)) return false;
    switch (ssh_key_type(key)) {
    case SSH_KEYTYPE_ED25519:
        return algorithm == "ssh-ed25519";
    case SSH_KEYTYPE_RSA:
        return algorithm == "rsa-sha2-256" || algorithm == "rsa-sha2-512";
    case SSH_KEYTYPE_ECDSA_P256:
    case SSH_KEYTYPE_ECDSA_P384:
    case SSH_KEYTYPE_ECDSA_P521: {
        const char* curve = ssh_pki_key_ecdsa_name(key);
        return curve != nullptr && algorithm == curve;
    }
    default:
        return false; // certificates, DSA, security keys: not accepted here
    }
}

bool user_key_type_accepted(ssh_key key)
{
    std::string_view list = kUserKeyAlgorithms;
    while (!list.empty()) {
        auto comma = list.find(',');
        if (user_key_algorithm_fits(list.substr(0, comma), key)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

std::vector<std::uint8_t> userauth_signed_data(std::string_view session_id, std::string_view user,
                                               std::string_view service, std::string_view method,
                                               std::string_view algorithm, std::string_view key_blob,
                                               std::string_view hostkey_blob)
{
    std::vector<std::uint8_t> out;
    out.reserve(64 + session_id.size() + user.size() + service.size() + method.size() + algorithm.size() +
                key_blob.size() + hostkey_blob.size());
    put_string(out, session_id);
    out.push_back(kMsgUserauthRequest);
    put_string(out, user);
    put_string(out, service);
    put_string(out, method);
    out.push_back(1); // has a signature
    put_string(out, algorithm);
    put_string(out, key_blob);
    if (method == kMethodHostbound) put_string(out, hostkey_blob);
    return out;
}

std::string public_key_blob(ssh_key key)
{
    ssh_string blob = nullptr;
    if (ssh_pki_export_pubkey_blob(key, &blob) != SSH_OK || blob == nullptr)
        throw InputError("cannot export a public key blob");
    std::string out(static_cast<const char*>(ssh_string_data(blob)), ssh_string_len(blob));
    ssh_string_free(blob);
    return out;
}

} // namespace feth::server
