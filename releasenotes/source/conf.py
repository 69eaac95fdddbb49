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

"""Sphinx configuration of the nova-delete-ext release notes."""

extensions = [
    'openstackdocstheme',
    'reno.sphinxext',
]

templates_path = ['_templates']
source_suffix = '.rst'
master_doc = 'index'

project = 'nova-delete-ext Release Notes'
copyright = '2026, nova-delete-ext developers'

# Release notes are not versioned like the code.
release = ''
version = ''

exclude_patterns = []
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
htmlhelp_basename = 'nova-delete-extReleaseNotesdoc'

# -- Options for Internationalization output ----------------------------------

locale_dirs = ['locale/']
