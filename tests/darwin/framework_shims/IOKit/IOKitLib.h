/* Our declarations of the IOKitLib API that feth-ssh uses, for the Darwin
 * compile check only (see ../README.md); not Apple's header. */
#pragma once

#include <mach/kern_return.h>
#include <mach/port.h>
#include <stdint.h>

#include <dispatch/dispatch.h>

extern "C" {

typedef mach_port_t io_object_t;
typedef io_object_t io_connect_t;
typedef io_object_t io_service_t;
typedef kern_return_t IOReturn;
typedef struct IONotificationPort* IONotificationPortRef;

typedef void (*IOServiceInterestCallback)(void* refcon, io_service_t service, uint32_t messageType,
                                          void* messageArgument);

#define IO_OBJECT_NULL ((io_object_t)0)
#define kIOReturnSuccess KERN_SUCCESS

void IONotificationPortDestroy(IONotificationPortRef notify);
void IONotificationPortSetDispatchQueue(IONotificationPortRef notify, dispatch_queue_t queue);
kern_return_t IOServiceClose(io_connect_t connect);
}
