/* The transport's Prometheus series. */
#include "transport/internal.h"
#include "common/metrics.h"

void transport_metrics_register(struct transport_metrics *m)
{
	static const char drops[] = "Records or datagrams dropped, by reason";
	static const char perr[] = "Sessions closed for a protocol error, by reason";
	static const char refused[] = "Connections refused at upgrade, by reason";
	static const char held[] = "Records held for JIT and then dropped, by reason";

	m->sessions = metric_gauge("wssd_sessions", NULL, "WebSocket sessions open now");
	m->sessions_total = metric_counter("wssd_sessions_total", NULL,
					   "WebSocket sessions opened since start");
	m->records_in = metric_counter("wssd_records_total", "dir=\"in\"",
				       "Records relayed (in: client to WireGuard, out: back)");
	m->records_out = metric_counter("wssd_records_total", "dir=\"out\"", NULL);
	m->bytes_in = metric_counter("wssd_bytes_total", "dir=\"in\"",
				     "Record payload bytes relayed (in: client to WireGuard)");
	m->bytes_out = metric_counter("wssd_bytes_total", "dir=\"out\"", NULL);
	m->keepalives = metric_counter("wssd_keepalives_total", NULL,
				       "Zero-length records received");
	m->drop_send_queue = metric_counter("wssd_drops_total", "reason=\"send_queue_full\"", drops);
	m->drop_hook = metric_counter("wssd_drops_total", "reason=\"refused\"", drops);
	m->held_full = metric_counter("wssd_held_records_dropped_total", "reason=\"hold_queue_full\"",
				      held);
	m->held_refused = metric_counter("wssd_held_records_dropped_total", "reason=\"refused\"",
					 held);
	m->held_timeout = metric_counter("wssd_held_records_dropped_total", "reason=\"timeout\"",
					 held);
	m->drop_udp_send = metric_counter("wssd_drops_total", "reason=\"udp_error\"", drops);
	m->drop_wg_unreachable = metric_counter("wssd_drops_total", "reason=\"wg_unreachable\"",
						drops);
	m->drop_relay_socket = metric_counter("wssd_drops_total", "reason=\"relay_socket\"",
					      drops);
	m->relay_icmp = metric_counter("wssd_relay_icmp_errors_total", NULL,
				       "ICMP errors read on relay sockets (WireGuard's port unreachable)");
	m->refused_max = metric_counter("wssd_sessions_refused_total", "reason=\"max_sessions\"",
					refused);
	m->refused_per_ip = metric_counter("wssd_sessions_refused_total",
					   "reason=\"max_sessions_per_ip\"", refused);
	m->refused_shutdown = metric_counter("wssd_sessions_refused_total",
					     "reason=\"shutting_down\"", refused);
	m->refused_fds = metric_counter("wssd_sessions_refused_total", "reason=\"descriptors\"",
					refused);
	m->perr_magic = metric_counter("wssd_protocol_errors_total", "reason=\"bad_magic\"", perr);
	m->perr_length = metric_counter("wssd_protocol_errors_total",
					"reason=\"record_too_long\"", perr);
	m->perr_truncated = metric_counter("wssd_protocol_errors_total",
					   "reason=\"eof_mid_record\"", perr);
	m->perr_tls = metric_counter("wssd_protocol_errors_total", "reason=\"tls_handshake\"", perr);
	m->perr_nomem = metric_counter("wssd_protocol_errors_total", "reason=\"no_memory\"", perr);
	m->idle_closes = metric_counter("wssd_idle_closes_total", NULL,
					"Sessions closed after websocket.idle_timeout");
	m->cert_reloads = metric_counter("wssd_tls_cert_reloads_total", NULL,
					 "Certificate reloads applied (SIGHUP)");
}
