/*
 * The long-polling transport (internal to transports/): a session's held
 * GET receives its queued packets in one payload, POSTs carry packets in.
 */
#ifndef SIOC_TRANSPORTS_POLLING_H
#define SIOC_TRANSPORTS_POLLING_H

#include <stdbool.h>

#include "http/request.h"
#include "transports/engine.h"
#include "transports/front.h"

/* A handshake GET on c (verified): a new polling session, whose open
 * packet answers c. */
void polling_handshake(struct front_conn *c, struct sio_request *req);
/* A GET for s on c: held until there is something to send (a second one
 * gets 400 and closes the session, as the reference). */
void polling_get(struct front_conn *c, struct sio_eio_socket *s, bool keep_alive);
/* The headers of a POST for the session sid names arrived on c: it takes
 * the session's one data slot now, so that a second POST is seen. */
void polling_claim_post(struct front_conn *c, struct eio_engine *e, const char *sid,
                        size_t sid_len);
/* A whole POST for s arrived on c: its packets are handled, c answered. */
void polling_post(struct front_conn *c, struct sio_eio_socket *s, const struct sio_request *req,
                  bool keep_alive);
/* c will not finish the POST it claimed: the slot is free again. */
void polling_release_post(struct front_conn *c);
/* c's socket closed: a session it was serving fails ("transport error"). */
void polling_conn_closed(struct front_conn *c);

#endif
