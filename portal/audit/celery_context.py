"""Carry the audit context from the code that enqueues a task into the worker."""

from celery.signals import before_task_publish, task_postrun, task_prerun

from portal.audit import context

HEADER = "audit_context"
_tokens: dict[str, object] = {}


@before_task_publish.connect
def _attach_context(headers=None, **kwargs):
    if headers is not None and HEADER not in headers:
        headers[HEADER] = context.current().as_headers()


@task_prerun.connect
def _restore_context(task_id=None, task=None, **kwargs):
    data = None
    if task is not None:
        # A worker exposes message headers as request attributes; eager runs keep them in .headers.
        data = getattr(task.request, HEADER, None) or (task.request.headers or {}).get(HEADER)
    # No header means the task runs in-process (eager): the caller's context is already ours.
    base = context.AuditContext.from_headers(data) if data else context.current()
    ctx = base.with_job(task_id or "")
    _tokens[task_id] = context.activate(ctx)


@task_postrun.connect
def _clear_context(task_id=None, **kwargs):
    token = _tokens.pop(task_id, None)
    if token is not None:
        context.deactivate(token)
