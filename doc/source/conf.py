# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Sphinx configuration of the nova-delete-ext documentation."""

import os
import sys

# The project's own extension (_exts/delete_ext_docs.py).
sys.path.insert(0, os.path.abspath('_exts'))

# -- General configuration ----------------------------------------------------

extensions = [
    'openstackdocstheme',
    'oslo_config.sphinxext',
    'oslo_config.sphinxconfiggen',
    'oslo_policy.sphinxext',
    'oslo_policy.sphinxpolicygen',
    'sphinx.ext.autodoc',
    'delete_ext_docs',
]

# oslo_config.sphinxconfiggen writes _static/nova-delete-ext.conf.sample
# from the same generator file as ``tox -e genconfig``.
config_generator_config_file = '../../etc/nova-delete-ext-config-generator.conf'
sample_config_basename = '_static/nova-delete-ext'

# oslo_policy.sphinxpolicygen writes _static/nova-delete-ext.policy.yaml.sample
# from the same generator file as oslopolicy-sample-generator; the
# show-policy directive reads it too.
policy_generator_config_file = '../../etc/nova-delete-ext-policy-generator.conf'
sample_policy_basename = '_static/nova-delete-ext'

# The API reference imports Nova; keep members in source order.
autodoc_member_order = 'bysource'
autodoc_default_options = {
    'show-inheritance': True,
}

templates_path = []
source_suffix = '.rst'
master_doc = 'index'

project = 'nova-delete-ext'
copyright = '2026, nova-delete-ext developers'

exclude_patterns = []
add_module_names = False
pygments_style = 'native'

# -- openstackdocstheme -------------------------------------------------------

openstackdocs_repo_name = 'x/nova-delete-ext'
openstackdocs_use_storyboard = False
openstackdocs_bug_project = 'nova-delete-ext'
openstackdocs_bug_tag = ''
openstackdocs_auto_name = False

# -- Options for HTML output --------------------------------------------------

html_theme = 'openstackdocs'
html_static_path = ['_static']
htmlhelp_basename = 'nova-delete-extdoc'

# -- Options for LaTeX output -------------------------------------------------

latex_documents = [
    ('index', 'doc-nova-delete-ext.tex', 'nova-delete-ext Documentation',
     'nova-delete-ext developers', 'manual'),
]
