// macOS: SystemConfiguration's dynamic store (configd) and IOKit's system
// power notifications.
//
// - A dynamic store session watches the primary interface and the IPv4 and
//   IPv6 state: State:/Network/Global/IPv4 and .../IPv6 (the primary
//   service, its interface and router) and the patterns
//   State:/Network/Interface/[^/]+/IPv4 and .../IPv6 (each interface's
//   addresses, which configd publishes as the kernel reports them).
// - IORegisterForSystemPower tells of a wake (kIOMessageSystemHasPoweredOn).
//   It also asks whether the Mac may sleep (kIOMessageCanSystemSleep) and
//   says that it will (kIOMessageSystemWillSleep): both are answered at once
//   with IOAllowPowerChange, or the Mac's sleep would wait for us.
//
// Both deliver on a serial dispatch queue of their own. Their callbacks
// decide whether a notification is a change and, if so, write a datagram
// naming it to a socket pair whose other end the client's event loop polls
// (network_watch.hpp): no run loop, no busy loop, no log line written off
// the main thread. A key naming the tunnel's own interface is not a change
// (its hooks add addresses there).
//
// No routing socket (PF_ROUTE) any more: every address it told of reaches
// the store too (configd learns them from the kernel), and so does a new
// primary interface or router. A route that changes alone, with no address
// and no primary interface changing, is left to the keepalives.
#include "network_watch.hpp"

#include <CoreFoundation/CoreFoundation.h>
#include <IOKit/IOKitLib.h>
#include <IOKit/IOMessage.h>
#include <IOKit/pwr_mgt/IOPMLib.h>
#include <SystemConfiguration/SystemConfiguration.h>
#include <dispatch/dispatch.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"

namespace feth::client {
namespace {

struct CFReleaser {
    void operator()(CFTypeRef object) const noexcept { CFRelease(object); }
};
template <class Ref>
using CFOwned = std::unique_ptr<std::remove_pointer_t<Ref>, CFReleaser>;

struct QueueReleaser {
    void operator()(dispatch_queue_t queue) const noexcept { dispatch_release(queue); }
};
using SerialQueue = std::unique_ptr<dispatch_queue_s, QueueReleaser>;

struct PortDestroyer {
    void operator()(IONotificationPortRef port) const noexcept { IONotificationPortDestroy(port); }
};
using NotificationPort = std::unique_ptr<IONotificationPort, PortDestroyer>;

// The interface a dynamic store key names ("State:/Network/Interface/en0/IPv4":
// "en0"); empty for the global keys.
std::string_view key_interface(std::string_view key)
{
    constexpr std::string_view prefix = "State:/Network/Interface/";
    if (key.substr(0, prefix.size()) != prefix) return {};
    key.remove_prefix(prefix.size());
    return key.substr(0, key.find('/'));
}

// The dynamic store session and the power notifications, feeding the
// socket pair.
class SystemNotifications final : public NetworkWatch::Feed {
public:
    SystemNotifications(UniqueFd signal, std::string ignored_interface)
        : signal_(std::move(signal)), ignored_(std::move(ignored_interface)),
          queue_(dispatch_queue_create("org.feth-ssh.network-watch", DISPATCH_QUEUE_SERIAL))
    {
        if (!queue_) {
            LOG_VERBOSE("network changes are not watched: dispatch_queue_create failed");
            return;
        }
        open_store();
        open_power();
    }

    ~SystemNotifications() override
    {
        // No callback after this: both stop delivering, then whatever was
        // queued already runs to its end. The members go after.
        if (store_) SCDynamicStoreSetDispatchQueue(store_.get(), nullptr);
        if (root_port_ != IO_OBJECT_NULL) {
            IODeregisterForSystemPower(&notifier_);
            IOServiceClose(root_port_);
        }
        if (queue_) dispatch_sync_f(queue_.get(), nullptr, [](void*) {});
    }

    SystemNotifications(const SystemNotifications&) = delete;
    SystemNotifications& operator=(const SystemNotifications&) = delete;

    bool watching() const { return store_ || root_port_ != IO_OBJECT_NULL; }

private:
    // What a datagram says is the log line the main thread writes
    // (tells_of_change). A full socket already holds a change to read.
    void tell(std::string_view what) const noexcept
    {
        (void)::send(signal_.get(), what.data(), what.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    }

    void open_store()
    {
        SCDynamicStoreContext context{0, this, nullptr, nullptr, nullptr};
        store_.reset(SCDynamicStoreCreate(nullptr, CFSTR("feth-ssh"), &SystemNotifications::on_keys, &context));
        if (!store_) return store_failed("SCDynamicStoreCreate");
        const void* keys[] = {CFSTR("State:/Network/Global/IPv4"), CFSTR("State:/Network/Global/IPv6")};
        const void* patterns[] = {CFSTR("State:/Network/Interface/[^/]+/IPv4"),
                                  CFSTR("State:/Network/Interface/[^/]+/IPv6")};
        const CFOwned<CFArrayRef> key_list(CFArrayCreate(nullptr, keys, 2, &kCFTypeArrayCallBacks));
        const CFOwned<CFArrayRef> pattern_list(CFArrayCreate(nullptr, patterns, 2, &kCFTypeArrayCallBacks));
        if (!key_list || !pattern_list) return store_failed("CFArrayCreate");
        if (!SCDynamicStoreSetNotificationKeys(store_.get(), key_list.get(), pattern_list.get()))
            return store_failed("SCDynamicStoreSetNotificationKeys");
        if (!SCDynamicStoreSetDispatchQueue(store_.get(), queue_.get()))
            return store_failed("SCDynamicStoreSetDispatchQueue");
    }

    void store_failed(const char* call)
    {
        LOG_VERBOSE("network changes are not watched: %s: %s", call, SCErrorString(SCError()));
        store_.reset();
    }

    void open_power()
    {
        IONotificationPortRef port = nullptr;
        root_port_ = IORegisterForSystemPower(this, &port, &SystemNotifications::on_power, &notifier_);
        if (root_port_ == IO_OBJECT_NULL) {
            LOG_VERBOSE("a wake is not watched: IORegisterForSystemPower failed");
            return;
        }
        port_.reset(port);
        IONotificationPortSetDispatchQueue(port, queue_.get());
    }

    // On the queue. An empty list: configd restarted, anything may have
    // changed.
    static void on_keys(SCDynamicStoreRef, CFArrayRef changed_keys, void* info)
    {
        const auto* self = static_cast<const SystemNotifications*>(info);
        const CFIndex n = CFArrayGetCount(changed_keys);
        if (n == 0) return self->tell("the dynamic store restarted");
        for (CFIndex i = 0; i < n; ++i) {
            char key[256];
            const auto* k = static_cast<CFStringRef>(CFArrayGetValueAtIndex(changed_keys, i));
            if (!CFStringGetCString(k, key, sizeof key, kCFStringEncodingUTF8))
                return self->tell("a key too long to read");
            if (self->ignored_.empty() || key_interface(key) != self->ignored_) return self->tell(key);
        }
    }

    // On the queue.
    static void on_power(void* refcon, io_service_t, uint32_t message, void* argument)
    {
        const auto* self = static_cast<const SystemNotifications*>(refcon);
        switch (message) {
        case kIOMessageCanSystemSleep:
        case kIOMessageSystemWillSleep:
            IOAllowPowerChange(self->root_port_, reinterpret_cast<intptr_t>(argument));
            break;
        case kIOMessageSystemHasPoweredOn: self->tell("the system woke"); break;
        default: break;
        }
    }

    UniqueFd signal_;
    std::string ignored_;
    SerialQueue queue_;
    CFOwned<SCDynamicStoreRef> store_;
    NotificationPort port_;
    io_connect_t root_port_ = IO_OBJECT_NULL;
    io_object_t notifier_ = IO_OBJECT_NULL;
};

} // namespace

// Each datagram is a change the callbacks counted, and says which.
bool tells_of_change(const char* data, std::size_t n, unsigned)
{
    LOG_DEBUG("network change: %.*s", static_cast<int>(n), data);
    return true;
}

std::unique_ptr<NetworkWatch> open_network_watch(const std::string& ignored_interface)
{
    UniqueFd read_end;
    UniqueFd write_end;
    if (open_socketpair(AF_UNIX, SOCK_DGRAM, IoMode::nonblocking, read_end, write_end) != 0) {
        LOG_VERBOSE("network changes are not watched: socketpair: %s", errno_text(errno).c_str());
        return nullptr;
    }
    auto feed = std::make_unique<SystemNotifications>(std::move(write_end), ignored_interface);
    if (!feed->watching()) return nullptr; // the reasons are logged
    return std::make_unique<NetworkWatch>(std::move(read_end), ignored_interface, std::move(feed));
}

} // namespace feth::client
