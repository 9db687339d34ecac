#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# t/t3800-link-guest.sh's story with Debian's stock tgtd on the nodes: it
# sends no Async Message, so nothing but lunlink-rescand's own targeted
# scan brings a linked volume's LUN to the host.  Same steps, same bound.
LINK_TGTD=stock
. "$(dirname "$0")/t3800-link-guest.sh"
