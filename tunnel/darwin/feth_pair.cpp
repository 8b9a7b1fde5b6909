// Creating, peering and destroying feth pairs (xnu bsd/net/if_fake.c).
// The order of the steps comes from naming::plan_pair; this file only runs
// them. Root only: every ioctl here needs it.
#include <ifaddrs.h>
#include <net/if.h>
#include <net/if_dl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/sockio.h>
#include <sys/sysctl.h>
#include <fcntl.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>
#include <utility>

#include "tunnel/darwin/darwin_io.hpp"
#include "tunnel/darwin/sys.hpp"
#include "tunnel/darwin_structs.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "tunnel/mtu.hpp"

namespace feth::darwin {
namespace {

constexpr const char* kMaxMtuSysctl = "net.link.fake.max_mtu";

// SIOCSDRVSPEC's struct ifdrv comes from the SDK; our request must be what
// the kernel copies in (it refuses ifd_len < 160).
static_assert(sizeof(IfFakeRequest) == 160);

UniqueFd control_socket()
{
    UniqueFd s(sys::socket(AF_INET, SOCK_DGRAM, 0));
    if (!s) throw_errno("feth", "socket(AF_INET)");
    return s;
}

ifreq make_ifreq(const std::string& name)
{
    ifreq ifr;
    std::memset(&ifr, 0, sizeof ifr);
    ::strlcpy(ifr.ifr_name, name.c_str(), sizeof ifr.ifr_name);
    return ifr;
}

bool exists(const std::string& name)
{
    return sys::if_nametoindex(name.c_str()) != 0;
}

std::vector<std::string> interface_names()
{
    std::vector<std::string> names;
    struct if_nameindex* list = sys::if_nameindex();
    if (list == nullptr) throw_errno("feth", "if_nameindex");
    for (auto* p = list; p->if_index != 0 && p->if_name != nullptr; ++p) names.emplace_back(p->if_name);
    sys::if_freenameindex(list);
    return names;
}

unsigned current_max_mtu()
{
    unsigned value = 0;
    std::size_t len = sizeof value;
    if (sys::sysctlbyname(kMaxMtuSysctl, &value, &len, nullptr, 0) != 0 || len != sizeof value)
        return kFethDefaultMaxMtu;
    return value;
}

// The name of the interface `name` is peered with; empty when none.
std::string peer_of(int s, const std::string& name)
{
    IfFakeRequest answer;
    std::memset(&answer, 0, sizeof answer);
    ifdrv drv;
    std::memset(&drv, 0, sizeof drv);
    ::strlcpy(drv.ifd_name, name.c_str(), sizeof drv.ifd_name);
    drv.ifd_cmd = kIfFakeGetCmdGetPeer;
    drv.ifd_len = sizeof answer;
    drv.ifd_data = &answer;
    if (sys::ioctl(s, SIOCGDRVSPEC, &drv) < 0)
        throw_errno("device " + name, "ioctl(SIOCGDRVSPEC, IF_FAKE_G_CMD_GET_PEER)");
    return std::string(peer_name_of(answer));
}

bool is_up(int s, const std::string& name)
{
    ifreq ifr = make_ifreq(name);
    if (sys::ioctl(s, SIOCGIFFLAGS, &ifr) < 0) throw_errno("device " + name, "ioctl(SIOCGIFFLAGS)");
    return (ifr.ifr_flags & IFF_UP) != 0;
}

struct DeviceMtu {
    unsigned current = 0;
    unsigned max = 0; // fixed when the interface was created
};

DeviceMtu device_mtu(int s, const std::string& name)
{
    ifreq ifr = make_ifreq(name);
    if (sys::ioctl(s, SIOCGIFDEVMTU, &ifr) < 0) throw_errno("device " + name, "ioctl(SIOCGIFDEVMTU)");
    return {static_cast<unsigned>(ifr.ifr_devmtu.ifdm_current), static_cast<unsigned>(ifr.ifr_devmtu.ifdm_max)};
}

void set_mtu(int s, const std::string& name, unsigned mtu)
{
    ifreq ifr = make_ifreq(name);
    ifr.ifr_mtu = static_cast<int>(mtu);
    if (sys::ioctl(s, SIOCSIFMTU, &ifr) < 0)
        throw_errno("device " + name + " (MTU " + std::to_string(mtu) + ")", "ioctl(SIOCSIFMTU)");
}

// The user's own pair keeps its MTU unless TunnelMTU asks for another
// (mtu::to_set); a request above what the pair was created for cannot be
// met and is refused with what to do about it.
void adjust_existing_mtu(int s, const naming::PairNames& names, unsigned mtu)
{
    const std::string* halves[] = {&names.peer, &names.visible};
    DeviceMtu found[2];
    // Both halves are checked before either changes.
    for (int i = 0; i < 2; ++i) {
        found[i] = device_mtu(s, *halves[i]);
        if (mtu == 0) continue;
        std::string problem = mtu::feth_existing_problem(names.visible, names.peer, mtu, found[i].max);
        if (!problem.empty()) throw InputError(problem);
    }
    for (int i = 0; i < 2; ++i) {
        auto want = mtu::to_set(mtu, found[i].current, kFethLargestMaxMtu);
        if (!want) continue;
        set_mtu(s, *halves[i], *want);
        LOG_INFO("device %s: MTU %u -> %u (existing pair %s/%s)", halves[i]->c_str(), found[i].current, *want,
                 names.visible.c_str(), names.peer.c_str());
    }
}

void run_step(int s, const naming::PlanStep& step)
{
    const std::string what = step.ifname.empty() ? std::string("feth") : "device " + step.ifname;
    const char* call = naming::step_name(step.kind);
    switch (step.kind) {
    case naming::StepKind::RaiseMaxMtu: {
        unsigned value = step.value;
        if (sys::sysctlbyname(kMaxMtuSysctl, nullptr, nullptr, &value, sizeof value) != 0)
            throw_errno(what + " (max MTU " + std::to_string(value) + ")", call);
        // System-wide and kept: pairs created later may use it too.
        LOG_INFO("feth: raised %s to %u", kMaxMtuSysctl, value);
        return;
    }
    case naming::StepKind::Create: {
        // EBUSY: an interface of that name is still being torn down.
        for (int attempt = 0;; ++attempt) {
            ifreq ifr = make_ifreq(step.ifname);
            ifr.ifr_data = nullptr; // feth takes no creation parameters
            if (sys::ioctl(s, SIOCIFCREATE2, &ifr) == 0) return;
            if (errno != EBUSY || attempt >= 20) throw_errno(what, call);
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    case naming::StepKind::SetMac: {
        ifreq ifr = make_ifreq(step.ifname);
        ifr.ifr_addr.sa_len = static_cast<std::uint8_t>(step.mac.size()); // ifnet_set_lladdr(sa_data, sa_len)
        ifr.ifr_addr.sa_family = AF_LINK;
        std::memcpy(ifr.ifr_addr.sa_data, step.mac.data(), step.mac.size());
        if (sys::ioctl(s, SIOCSIFLLADDR, &ifr) < 0) throw_errno(what + " (" + naming::mac_to_string(step.mac) + ")", call);
        return;
    }
    case naming::StepKind::SetPeer: {
        IfFakeRequest request = make_set_peer_request(step.other);
        ifdrv drv;
        std::memset(&drv, 0, sizeof drv);
        ::strlcpy(drv.ifd_name, step.ifname.c_str(), sizeof drv.ifd_name);
        drv.ifd_cmd = kIfFakeSetCmdSetPeer;
        drv.ifd_len = sizeof request;
        drv.ifd_data = &request;
        if (sys::ioctl(s, SIOCSDRVSPEC, &drv) < 0) throw_errno(what + " (peer " + step.other + ")", call);
        return;
    }
    case naming::StepKind::SetMtu: return set_mtu(s, step.ifname, step.value);
    case naming::StepKind::Up: {
        ifreq ifr = make_ifreq(step.ifname);
        if (sys::ioctl(s, SIOCGIFFLAGS, &ifr) < 0) throw_errno(what, "ioctl(SIOCGIFFLAGS)");
        ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
        if (sys::ioctl(s, SIOCSIFFLAGS, &ifr) < 0) throw_errno(what, call);
        return;
    }
    }
}

void destroy(int s, const std::string& name) noexcept
{
    ifreq ifr = make_ifreq(name);
    if (sys::ioctl(s, SIOCIFDESTROY, &ifr) < 0 && errno != ENXIO)
        LOG_ERROR("device %s: ioctl(SIOCIFDESTROY): %s", name.c_str(), errno_text(errno).c_str());
}

} // namespace

std::string host_seed()
{
    uuid_t id;
    timespec wait{1, 0};
    if (sys::gethostuuid(id, &wait) == 0) {
        std::string text;
        for (unsigned char byte : id) {
            static const char hex[] = "0123456789abcdef";
            text += hex[byte >> 4];
            text += hex[byte & 15];
        }
        return text;
    }
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    return host;
}

FethPair::FethPair(FethPair&& other) noexcept
    : held_(std::move(other.held_)), names_(std::move(other.names_)), created_visible_(std::exchange(other.created_visible_, false)),
      created_peer_(std::exchange(other.created_peer_, false))
{
}

FethPair::~FethPair()
{
    destroy_created();
}

void FethPair::destroy_created() noexcept
{
    if (!created_visible_ && !created_peer_) return;
    UniqueFd s(sys::socket(AF_INET, SOCK_DGRAM, 0));
    if (!s) return;
    // Destroying a feth unpeers it first, so the order does not matter.
    if (created_peer_) destroy(s.get(), names_.peer);
    if (created_visible_) destroy(s.get(), names_.visible);
    created_peer_ = created_visible_ = false;
}

void FethPair::execute(const std::vector<naming::PlanStep>& steps)
{
    UniqueFd s = control_socket();
    for (const auto& step : steps) {
        run_step(s.get(), step);
        if (step.kind == naming::StepKind::Create) {
            if (step.ifname == names_.visible) created_visible_ = true;
            if (step.ifname == names_.peer) created_peer_ = true;
        }
    }
}

namespace {

// The link-layer address of `name` (getifaddrs' AF_LINK entry).
std::optional<naming::Mac> link_address(const std::string& name)
{
    struct ifaddrs* list = nullptr;
    if (sys::getifaddrs(&list) != 0) return std::nullopt;
    std::optional<naming::Mac> mac;
    for (auto* a = list; a != nullptr; a = a->ifa_next) {
        if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_LINK || name != a->ifa_name) continue;
        const auto* dl = reinterpret_cast<const sockaddr_dl*>(a->ifa_addr);
        if (dl->sdl_alen != 6) continue;
        naming::Mac m;
        std::memcpy(m.data(), LLADDR(dl), m.size());
        mac = m;
        break;
    }
    sys::freeifaddrs(list);
    return mac;
}

// Both halves carry the addresses plan_pair gives this Mac's pair of that
// unit: a pair a feth-ssh or feth-sshd made, which survives the process.
bool is_ours(const naming::PairNames& names, const std::string& seed)
{
    auto visible = link_address(names.visible);
    auto peer = link_address(names.peer);
    return visible && peer && *visible == naming::stable_mac(seed, names.unit, naming::Role::Visible) &&
           *peer == naming::stable_mac(seed, names.unit, naming::Role::Peer);
}

bool is_peered(int s, const naming::PairNames& names)
{
    return exists(names.visible) && exists(names.peer) && peer_of(s, names.visible) == names.peer;
}

void destroy_pair(int s, const naming::PairNames& names) noexcept
{
    destroy(s, names.peer);
    destroy(s, names.visible);
}

} // namespace

FethPair FethPair::open(std::uint32_t unit, unsigned mtu, bool adopt_existing, const std::string& owner)
{
    const std::string seed = host_seed();
    auto plan_for = [&](const naming::PairNames& names) {
        naming::PlanRequest request;
        request.names = names;
        request.mtu = mtu;
        request.current_max_mtu = current_max_mtu();
        request.mac_seed = seed;
        return naming::plan_pair(request);
    };

    device_lock::Busy busy;
    if (unit != kTunUnitAny) {
        auto names = naming::pair_names(unit);
        if (!names)
            throw InputError("device feth" + std::to_string(unit) + ": unit too large for a feth pair (max " +
                             std::to_string(naming::kMaxUnit - naming::kDefaultPeerOffset) + ")");
        auto held = device_lock::reserve_pair(*names, owner, busy);
        if (!held) device_lock::throw_busy(busy);
        UniqueFd s = control_socket();
        if (is_peered(s.get(), *names) && is_ours(*names, seed)) {
            // Nobody holds it (we do now): the tunnel that made it died.
            LOG_INFO("device %s: destroying the pair %s/%s a tunnel that ended left behind", names->visible.c_str(),
                     names->visible.c_str(), names->peer.c_str());
            destroy_pair(s.get(), *names);
        } else if (is_peered(s.get(), *names)) {
            if (!adopt_existing)
                throw SystemError("device " + names->visible + " (peer " + names->peer +
                                      ") exists and was not made by feth-ssh; using an existing pair is not allowed "
                                      "(TunnelAdoptExisting)",
                                  "ioctl(SIOCIFCREATE2)", EEXIST);
            // The user's own pair: use it as it is and leave it so. We
            // write through the peer, so it has to be up.
            if (!is_up(s.get(), names->peer))
                throw InputError("device " + names->peer + " (peer of " + names->visible +
                                 ") is down: run 'ifconfig " + names->peer + " up'");
            adjust_existing_mtu(s.get(), *names, mtu);
            return FethPair(*names, std::move(*held));
        }
        const bool visible_exists = exists(names->visible);
        if (visible_exists || exists(names->peer)) {
            const std::string& there = visible_exists ? names->visible : names->peer;
            throw SystemError("device " + there + " exists but is not half of the feth pair " + names->visible +
                                  "/" + names->peer,
                              "ioctl(SIOCIFCREATE2)", EEXIST);
        }
        auto steps = plan_for(*names); // InputError for a bad MTU, before touching anything
        FethPair pair(*names, std::move(*held));
        pair.execute(steps); // on a throw, ~FethPair removes what was made
        return pair;
    }

    // "any": the lowest unit whose names neither exist nor are reserved;
    // another process may take the unit we picked: pick again without it.
    std::vector<std::string> taken = interface_names();
    for (int attempt = 0;; ++attempt) {
        auto names = naming::pick_free_pair(taken);
        if (!names) throw SystemError("feth: no free unit for a pair", "ioctl(SIOCIFCREATE2)", ENOSPC);
        auto held = device_lock::reserve_pair(*names, owner, busy);
        if (!held) {
            taken.push_back(names->visible);
            continue;
        }
        auto steps = plan_for(*names);
        FethPair pair(*names, std::move(*held));
        try {
            pair.execute(steps);
            return pair;
        } catch (const SystemError& e) {
            if (e.code() != EEXIST || attempt >= 4) throw;
            taken.push_back(names->visible);
        }
    }
}

std::size_t FethPair::sweep_leftovers()
{
    const std::string seed = host_seed();
    UniqueFd s = control_socket();
    std::size_t removed = 0;
    for (const auto& name : interface_names()) {
        auto unit = naming::parse_unit(name, naming::kFethPrefix);
        if (!unit || *unit >= naming::kDefaultPeerOffset) continue;
        auto names = naming::pair_names(*unit);
        if (!names || !is_peered(s.get(), *names) || !is_ours(*names, seed)) continue;
        device_lock::Busy busy;
        auto held = device_lock::reserve_pair(*names, "removing a leftover pair", busy);
        if (!held) continue; // a live tunnel's
        destroy_pair(s.get(), *names);
        LOG_INFO("device %s: destroyed the pair %s/%s a tunnel that ended left behind", names->visible.c_str(),
                 names->visible.c_str(), names->peer.c_str());
        ++removed;
    }
    return removed;
}

namespace {

// The socket kept by prepare_mtu_queries().
UniqueFd& kept_query_socket()
{
    static UniqueFd sock;
    return sock;
}

} // namespace

void prepare_mtu_queries() noexcept
{
    if (!kept_query_socket()) kept_query_socket().reset(sys::socket(AF_INET, SOCK_DGRAM, 0));
    if (kept_query_socket()) (void)::fcntl(kept_query_socket().get(), F_SETFD, FD_CLOEXEC);
}

unsigned interface_mtu(const std::string& name) noexcept
{
    try {
        struct ifreq ifr {};
        std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
        UniqueFd own;
        int fd = kept_query_socket().get();
        if (fd < 0) {
            own.reset(sys::socket(AF_INET, SOCK_DGRAM, 0));
            if (!own) throw_errno("device " + name, "socket(AF_INET)");
            fd = own.get();
        }
        if (sys::ioctl(fd, SIOCGIFMTU, &ifr) < 0) throw_errno("device " + name, "ioctl(SIOCGIFMTU)");
        return ifr.ifr_mtu > 0 ? static_cast<unsigned>(ifr.ifr_mtu) : 0;
    } catch (const std::exception& e) {
        LOG_DEBUG2("%s", e.what());
        return 0;
    }
}

} // namespace feth::darwin
