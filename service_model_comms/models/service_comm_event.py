from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import split_every

from .service_comm_rule import EVENTS

# cr.precommit.data key of the events seen in the transaction, not queued yet
PENDING = "service_comm.pending_events"
BATCH_SIZE = 1000


class ServiceCommEvent(models.Model):
    """Records of the workflow waiting for the dispatcher, for one event.

    Automated actions only remember the records (no query per record, so that
    batch creations stay cheap); before the commit, one row per event and up
    to :data:`BATCH_SIZE` records queues them and wakes the dispatch cron,
    which decides one row per call. A failing template or provider never
    blocks the user's own action, and a row leaves the queue in the
    transaction that logs its decisions.
    """

    _name = "service.comm.event"
    _description = "Communication Events (Queued)"
    _order = "id"

    event = fields.Selection(EVENTS, required=True, readonly=True)
    res_model = fields.Char(required=True, readonly=True)
    occurrence_keys = fields.Json(
        readonly=True, help="{record id: occurrence key} of the records to dispatch."
    )

    @api.model
    def _queue(self, event, records):
        """Remember ``records`` for ``event``; queued in one go before the commit."""
        precommit = self.env.cr.precommit
        pending = precommit.data.get(PENDING)
        if pending is None:
            pending = precommit.data[PENDING] = defaultdict(set)
            precommit.add(self.sudo()._flush_pending)
        pending[(event, records._name)].update(records.ids)

    @api.model
    def _queue_past(self, event, model, domain):
        """Queue ``event`` for the records of ``model`` matching ``domain``: the
        records that went through it before the automated actions could see them.

        The automated actions start only once the registry is complete, so the
        records of an install's own data files (the suite's demo) reach comms
        through no action: its demo replays their history with this. Records the
        actions did see are queued once all the same (the same pending set), and
        the dispatcher never logs a decision twice."""
        self._queue(event, self.env[model].sudo().search(domain))

    def _flush_pending(self):
        pending = self.env.cr.precommit.data.pop(PENDING, {})
        dispatcher = self.env["service.comm.dispatcher"]
        for (event, model), ids in pending.items():
            records = self.env[model].browse(sorted(ids)).exists()
            keys = dict(zip(records.ids, dispatcher._occurrence_keys(event, records), strict=True))
            self._enqueue(event, records, keys)
        # the ORM flushed before the precommit hooks ran
        self.env.flush_all()

    @api.model
    def _enqueue(self, event, records, occurrence_keys, batch_size=BATCH_SIZE):
        """Queue ``records`` for ``event`` now, ``batch_size`` records a row, and
        wake the dispatch cron.

        :param occurrence_keys: ``{record id: key}``, see the dispatcher's
        """
        vals_list = [
            {
                "event": event,
                "res_model": records._name,
                "occurrence_keys": {
                    str(record_id): occurrence_keys.get(record_id, "") for record_id in batch
                },
            }
            for batch in split_every(batch_size, records.ids)
        ]
        if vals_list:
            self.sudo().create(vals_list)
            self.env.ref("service_model_comms.ir_cron_dispatch_events").sudo()._trigger()

    @api.model
    def _cron_dispatch_events(self):
        """One queued row per call; the cron framework calls again while some remain."""
        done = self._dispatch_queued(limit=1)
        self.env["ir.cron"]._notify_progress(done=done, remaining=self.search_count([]))

    @api.model
    def _dispatch_queued(self, limit=None):
        queued = self.sudo().search([], limit=limit)
        dispatcher = self.env["service.comm.dispatcher"]
        done = len(queued)
        for row in queued:
            keys = {int(record_id): key for record_id, key in row.occurrence_keys.items()}
            dispatcher._dispatch(row.event, self.env[row.res_model].browse(list(keys)), keys)
            row.unlink()
            # a batch's records, decisions and messages leave the cache with it:
            # the memory of a run does not grow with its batches
            self.env.invalidate_all()
        return done
