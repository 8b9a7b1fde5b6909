// The unprivileged child's calls into its monitor.
#include "privsep.hpp"
#include "privsep_wire.hpp"
#include "tunnel/error.hpp"
#include "tunnel/ssh_handles.hpp"

namespace feth::server {
namespace {

constexpr const char* kPeer = "monitor";

// "<type> <base64>", the public key as authorized_keys writes it.
std::string key_blob(ssh_key key)
{
    char* b64 = nullptr;
    if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK || b64 == nullptr)
        throw InputError("cannot export the public key");
    SshStringPtr guard(b64);
    const char* type = ssh_key_type_to_char(ssh_key_type(key));
    return std::string(type != nullptr ? type : "unknown") + " " + b64;
}

privsep::Message ask(int sock, const privsep::Message& request, privsep::MsgType answer_type)
{
    privsep::send_message(sock, request, kPeer);
    privsep::Message answer;
    if (!privsep::recv_message(sock, answer, kPeer)) throw InputError("the monitor closed the connection");
    if (answer.type() != static_cast<std::uint32_t>(answer_type))
        throw InputError(std::string("monitor answered with ") + privsep::msg_type_name(answer.type()));
    return answer;
}

} // namespace

bool MonitorClient::key_allowed(const std::string& user, ssh_key key)
{
    privsep::Message m(privsep::MsgType::KeyAllowed);
    m.put_string(user.substr(0, privsep::kMaxUserName));
    m.put_string(key_blob(key));
    auto a = ask(sock_.get(), m, privsep::MsgType::KeyAllowedAnswer);
    std::uint32_t ok = a.get_u32();
    a.expect_end();
    return ok == 1;
}

bool MonitorClient::auth_done(const std::string& user, ssh_key key)
{
    privsep::Message m(privsep::MsgType::AuthDone);
    m.put_string(user.substr(0, privsep::kMaxUserName));
    m.put_string(key_blob(key));
    auto a = ask(sock_.get(), m, privsep::MsgType::AuthDoneAnswer);
    std::uint32_t ok = a.get_u32();
    a.expect_end();
    return ok == 1;
}

MonitorClient::Tunnel MonitorClient::open_tunnel(std::uint32_t mode, std::uint32_t unit)
{
    privsep::Message m(privsep::MsgType::TunOpen);
    m.put_u32(mode);
    m.put_u32(unit);
    auto a = ask(sock_.get(), m, privsep::MsgType::TunOpenAnswer);
    Tunnel t;
    t.ok = a.get_u32() == 1;
    if (!t.ok) {
        t.debug_line = a.get_string(privsep::kMaxText);
        t.reason = a.get_string(privsep::kMaxText);
        a.expect_end();
        return t;
    }
    t.id = a.get_u32();
    std::uint32_t dev_mode = a.get_u32();
    std::string name = a.get_string(privsep::kMaxText);
    std::string io_name = a.get_string(privsep::kMaxText);
    std::string backend = a.get_string(privsep::kMaxBackendName);
    a.expect_end();
    auto tm = tun_mode_from_wire(dev_mode);
    if (!tm) throw InputError("monitor sent a bad tunnel mode");
    t.device = make_received_device(std::move(backend), std::move(name), std::move(io_name), *tm,
                                     std::move(a.fds()));
    return t;
}

void MonitorClient::close_tunnel(std::uint32_t id)
{
    privsep::Message m(privsep::MsgType::TunClose);
    m.put_u32(id);
    privsep::send_message(sock_.get(), m, kPeer);
}

void MonitorClient::report_stats(std::uint32_t id, const TunnelCounters& c)
{
    privsep::Message m(privsep::MsgType::TunStats);
    m.put_u32(id);
    for (std::uint64_t v : {c.frames_out, c.bytes_out, c.frames_in, c.bytes_in, c.dropped, c.device_busy})
        m.put_u64(v);
    privsep::send_message(sock_.get(), m, kPeer);
}

} // namespace feth::server
