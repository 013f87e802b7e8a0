/* The lws protocol callback of the front vhost (front.c). */
#ifndef SIOC_TRANSPORTS_CALLBACKS_H
#define SIOC_TRANSPORTS_CALLBACKS_H

#include <libwebsockets.h>

int front_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		   size_t len);

#endif
