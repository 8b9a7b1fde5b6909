/* Our declarations of the libdispatch API that feth-ssh uses, for the
 * Darwin compile check only (see ../README.md); not Apple's header. As the
 * SDK declares them for C++ without Objective-C: each object type a struct
 * derived from dispatch_object_s, so any of them converts to
 * dispatch_object_t. */
#pragma once

#ifndef __cplusplus
#error "these declarations are for C++ sources only"
#endif

#include <stddef.h>

struct dispatch_object_s {};
typedef dispatch_object_s* dispatch_object_t;
typedef struct dispatch_queue_s : public dispatch_object_s {}* dispatch_queue_t;
typedef struct dispatch_queue_attr_s : public dispatch_object_s {}* dispatch_queue_attr_t;
typedef void (*dispatch_function_t)(void* context);

#define DISPATCH_QUEUE_SERIAL NULL

extern "C" {
dispatch_queue_t dispatch_queue_create(const char* label, dispatch_queue_attr_t attr);
void dispatch_sync_f(dispatch_queue_t queue, void* context, dispatch_function_t work);
void dispatch_release(dispatch_object_t object);
}
