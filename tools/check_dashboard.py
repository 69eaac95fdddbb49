#!/usr/bin/env python3
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Check every query of the Grafana dashboard.

``--promtool``: every query parses as PromQL (promtool checks it as the
expression of a recording rule; it cannot evaluate PromQL on its own).

``--prometheus URL``: every query runs on that Prometheus
(``/api/v1/query``) without an error and returns at least one series, and
the cell variable's metric has series (``/api/v1/series``). Run it after
the cloud scenarios, when every panel has something to show.

Grafana's variables are given fixed values first: ``$__rate_interval``
(``--rate-interval``, 5m), ``$__interval`` (1m), ``$__range`` (1h), and
every template variable its "All" value (``.*`` for ``$cell``).

Exit status: 0 when every query passed, 1 otherwise (each failure on its
own line).

Importable: :func:`queries`, :func:`check_prometheus` and
:func:`check_promtool` return the failures as a list of lines.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

DASHBOARD = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'etc', 'grafana', 'nova-delete-ext.json')


def load(path=DASHBOARD):
    with open(path) as f:
        return json.load(f)


def _panels(panels):
    for panel in panels:
        yield panel
        yield from _panels(panel.get('panels', ()))


def substitute(expr, dashboard, rate_interval='5m'):
    """``expr`` with Grafana's variables replaced by fixed values."""
    values = {'__rate_interval': rate_interval, '__interval': '1m',
              '__range': '1h'}
    for variable in dashboard.get('templating', {}).get('list', ()):
        values.setdefault(variable['name'], variable.get('allValue', '.*'))
    # Longest first: $__rate_interval before a shorter $__r...
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace('${%s}' % name, values[name])
        expr = expr.replace('$' + name, values[name])
    return expr


def queries(dashboard, rate_interval='5m'):
    """``[(panel title, refId, PromQL)]`` of every panel's targets."""
    found = []
    for panel in _panels(dashboard.get('panels', ())):
        for target in panel.get('targets', ()):
            if target.get('expr'):
                found.append((panel.get('title'), target.get('refId'),
                              substitute(target['expr'], dashboard,
                                         rate_interval)))
    return found


def _variable_metrics(dashboard):
    """The metric of each ``label_values(metric, label)`` variable."""
    for variable in dashboard.get('templating', {}).get('list', ()):
        query = variable.get('definition') or ''
        if query.startswith('label_values(') and ',' in query:
            yield variable['name'], query[len('label_values('):].split(
                ',')[0].strip()


def _get(url, path, params, timeout):
    with urllib.request.urlopen('%s%s?%s' % (
            url.rstrip('/'), path, urllib.parse.urlencode(params)),
            timeout=timeout) as answer:
        return json.load(answer)


def _ask(url, path, params, timeout):
    """The ``data`` of a Prometheus API answer, or ``(None, error)``."""
    try:
        answer = _get(url, path, params, timeout)
    except urllib.error.HTTPError as exc:
        try:
            answer = json.load(exc)
        except ValueError:
            return None, 'HTTP %s' % exc.code
    except (OSError, ValueError) as exc:
        return None, str(exc)
    if answer.get('status') != 'success':
        return None, '%s: %s' % (answer.get('errorType'),
                                 answer.get('error'))
    return answer['data'], None


def check_prometheus(url, dashboard, rate_interval='5m', timeout=10):
    """Failures of the dashboard's queries on the Prometheus at ``url``."""
    failures = []
    for title, ref, expr in queries(dashboard, rate_interval):
        data, error = _ask(url, '/api/v1/query', {'query': expr}, timeout)
        if error is None and not data.get('result'):
            error = 'no series'
        if error is not None:
            failures.append('%s [%s]: %s: %s' % (title, ref, error, expr))
    for name, metric in _variable_metrics(dashboard):
        data, error = _ask(url, '/api/v1/series', {'match[]': metric},
                           timeout)
        if error is None and not data:
            error = 'no series'
        if error is not None:
            failures.append('variable $%s: %s: %s' % (name, error, metric))
    return failures


def check_promtool(dashboard, promtool='promtool'):
    """Failures of promtool checking every query as a rule expression."""
    found = queries(dashboard)
    lines = ['groups:', '  - name: dashboard', '    rules:']
    for index, (title, ref, expr) in enumerate(found):
        lines.append('      - record: dashboard:panel_%d_%s' % (index, ref))
        lines.append('        expr: %s' % json.dumps(expr))
    with tempfile.NamedTemporaryFile('w', suffix='.yml') as rules:
        rules.write('\n'.join(lines) + '\n')
        rules.flush()
        proc = subprocess.run([promtool, 'check', 'rules', rules.name],
                              capture_output=True, text=True)
    if proc.returncode == 0:
        return []
    return ['promtool: %s' % line for line in
            (proc.stdout + proc.stderr).splitlines() if line.strip()] + [
        'queries, in order: %s' % '; '.join(
            '%d %s [%s]' % (i, t, r) for i, (t, r, _) in enumerate(found))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dashboard', default=DASHBOARD)
    how = parser.add_mutually_exclusive_group(required=True)
    how.add_argument('--promtool', nargs='?', const='promtool',
                     metavar='PATH', help='parse every query with promtool')
    how.add_argument('--prometheus', metavar='URL',
                     help='run every query on this Prometheus')
    parser.add_argument('--rate-interval', default='5m')
    args = parser.parse_args(argv)
    dashboard = load(args.dashboard)
    if args.prometheus:
        failures = check_prometheus(args.prometheus, dashboard,
                                    args.rate_interval)
    else:
        failures = check_promtool(dashboard, args.promtool)
    count = len(queries(dashboard))
    for line in failures:
        print('FAIL %s' % line)
    print('%d queries of %s: %s' % (count, os.path.basename(args.dashboard),
                                    'failed' if failures else 'all passed'))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
