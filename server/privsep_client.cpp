// The unprivileged child's calls into its monitor.
#include "privsep.hpp"
#include "privsep_wire.hpp"
#include "base/error.hpp"
#include "tunnel/ssh_handles.hpp"

namespace feth::server {
namespace {

constexpr const char* kPeer = "monitor";

using Tunnel = MonitorClient::Tunnel;

// A TunUp (privsep_wire.hpp), checked.
Tunnel parse_tun_up(privsep::Message& a)
{
    Tunnel t;
    t.id = a.get_u32();
    const std::uint32_t ok = a.get_u32();
    if (ok > 1) throw InputError("monitor sent TunUp with ok " + std::to_string(ok));
    t.ok = ok == 1;
    if (!t.ok) {
        t.debug_line = a.get_string(privsep::kMaxText);
        t.reason = a.get_string(privsep::kMaxText);
        a.expect_end();
        if (!a.fds().empty()) throw InputError("monitor sent descriptors with a refused TunUp");
        return t;
    }
    std::uint32_t dev_mode = a.get_u32();
    std::string name = a.get_string(privsep::kMaxText);
    std::string io_name = a.get_string(privsep::kMaxText);
    std::string backend = a.get_string(privsep::kMaxBackendName);
    const std::uint32_t read_buffer_size = a.get_u32();
    a.expect_end();
    auto tm = tun_mode_from_wire(dev_mode);
    if (!tm) throw InputError("monitor sent a bad tunnel mode");
    t.device = make_received_device(std::move(backend), std::move(name), std::move(io_name), *tm,
                                     std::move(a.fds()), read_buffer_size);
    return t;
}

// Sends `request` and waits for its answer; a TunUp that comes first is
// queued.
privsep::Message ask(int sock, std::deque<Tunnel>& tun_ups, const privsep::Message& request,
                     privsep::MsgType answer_type)
{
    privsep::send_message(sock, request, kPeer);
    for (;;) {
        privsep::Message answer;
        if (!privsep::recv_message(sock, answer, kPeer)) throw InputError("the monitor closed the connection");
        if (answer.type() == static_cast<std::uint32_t>(privsep::MsgType::TunUp)) {
            tun_ups.push_back(parse_tun_up(answer));
            continue;
        }
        if (answer.type() != static_cast<std::uint32_t>(answer_type))
            throw InputError(std::string("monitor answered with ") + privsep::msg_type_name(answer.type()));
        if (!answer.fds().empty())
            throw InputError(std::string("monitor sent descriptors with ") + privsep::msg_type_name(answer.type()));
        return answer;
    }
}

MonitorClient::AuthAnswer auth_answer(privsep::Message& a)
{
    const std::uint32_t v = a.get_u32();
    a.expect_end();
    if (v > static_cast<std::uint32_t>(MonitorClient::AuthAnswer::DeniedDisconnect))
        throw InputError("monitor sent an unknown authentication answer " + std::to_string(v));
    return static_cast<MonitorClient::AuthAnswer>(v);
}

} // namespace

std::string MonitorClient::sign_exchange_hash(const std::string& algorithm, const std::string& hostkey_blob,
                                              const std::string& hash)
{
    privsep::Message m(privsep::MsgType::HostKeySign);
    m.put_string(algorithm);
    m.put_string(hostkey_blob);
    m.put_string(hash);
    auto a = ask(sock_.get(), tun_ups_, m, privsep::MsgType::HostKeySignAnswer);
    std::string sig = a.get_string(privsep::kMaxSignature);
    a.expect_end();
    return sig;
}

MonitorClient::AuthAnswer MonitorClient::key_allowed(const std::string& user, const std::string& key_blob)
{
    privsep::Message m(privsep::MsgType::KeyAllowed);
    m.put_string(user.substr(0, privsep::kMaxUserName));
    m.put_string(key_blob);
    auto a = ask(sock_.get(), tun_ups_, m, privsep::MsgType::KeyAllowedAnswer);
    return auth_answer(a);
}

MonitorClient::AuthAnswer MonitorClient::verify_publickey(const std::string& user, const std::string& service,
                                                          const std::string& method, const std::string& algorithm,
                                                          const std::string& key_blob,
                                                          const std::string& hostkey_blob,
                                                          const std::string& signature)
{
    privsep::Message m(privsep::MsgType::PubkeyVerify);
    m.put_string(user.substr(0, privsep::kMaxUserName));
    m.put_string(service);
    m.put_string(method);
    m.put_string(algorithm);
    m.put_string(key_blob);
    m.put_string(hostkey_blob);
    m.put_string(signature);
    auto a = ask(sock_.get(), tun_ups_, m, privsep::MsgType::PubkeyVerifyAnswer);
    return auth_answer(a);
}

MonitorClient::Tunnel MonitorClient::open_tunnel(std::uint32_t mode, std::uint32_t unit)
{
    privsep::Message m(privsep::MsgType::TunOpen);
    m.put_u32(mode);
    m.put_u32(unit);
    auto a = ask(sock_.get(), tun_ups_, m, privsep::MsgType::TunOpenAnswer);
    Tunnel t;
    const std::uint32_t ok = a.get_u32();
    if (ok > 1) throw InputError("monitor sent TunOpenAnswer with ok " + std::to_string(ok));
    t.ok = ok == 1;
    if (!t.ok) {
        t.debug_line = a.get_string(privsep::kMaxText);
        t.reason = a.get_string(privsep::kMaxText);
    } else {
        t.id = a.get_u32();
    }
    a.expect_end();
    return t;
}

bool MonitorClient::read_unsolicited()
{
    privsep::Message m;
    if (!privsep::recv_message(sock_.get(), m, kPeer)) return false;
    if (m.type() != static_cast<std::uint32_t>(privsep::MsgType::TunUp))
        throw InputError(std::string("monitor sent ") + privsep::msg_type_name(m.type()) + " unasked");
    tun_ups_.push_back(parse_tun_up(m));
    return true;
}

std::optional<MonitorClient::Tunnel> MonitorClient::take_tun_up()
{
    if (tun_ups_.empty()) return std::nullopt;
    Tunnel t = std::move(tun_ups_.front());
    tun_ups_.pop_front();
    return t;
}

MonitorClient::Tunnel MonitorClient::wait_tun_up(std::uint32_t id)
{
    for (;;) {
        for (auto it = tun_ups_.begin(); it != tun_ups_.end(); ++it) {
            if (it->id != id) continue;
            Tunnel t = std::move(*it);
            tun_ups_.erase(it);
            return t;
        }
        if (!read_unsolicited()) throw InputError("the monitor closed the connection");
    }
}

MonitorClient::Tunnel MonitorClient::open_tunnel_and_wait(std::uint32_t mode, std::uint32_t unit)
{
    Tunnel t = open_tunnel(mode, unit);
    if (!t.ok) return t;
    return wait_tun_up(t.id);
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
    for (std::uint64_t v : {c.frames_out, c.bytes_out, c.frames_in, c.bytes_in, c.dropped, c.device_busy, c.oversize})
        m.put_u64(v);
    privsep::send_message(sock_.get(), m, kPeer);
}

} // namespace feth::server
