/*
 * Upgrades (internal to transports/): a front connection becoming a
 * websocket, and a polling session moving onto one (probe, "3probe",
 * upgrade packet), in one place.
 */
#ifndef SIOC_TRANSPORTS_UPGRADE_H
#define SIOC_TRANSPORTS_UPGRADE_H

#include <stddef.h>

#include "protocol/eio_packet.h"
#include "transports/engine.h"
#include "transports/front.h"

/* An upgrade request on c, whose bytes end at c->in + used: verified,
 * then the connection becomes a websocket, either a new session's
 * transport or the probe of the session its sid names. Returns 1 when it
 * is a websocket now, 0 when an error response was queued, -1 when the
 * connection must close now. */
int upgrade_request(struct front_conn *c, size_t used);
/* A packet that arrived on s's probe; NULL for one that did not decode. */
void upgrade_probe_packet(struct sio_eio_socket *s, const struct eio_packet *p);
/* s's probe is gone (its socket closed). */
void upgrade_probe_lost(struct sio_eio_socket *s);
/* Ends s's upgrade attempt: the probe is closed. */
void upgrade_abort(struct sio_eio_socket *s);

#endif
