#!/usr/bin/env bash
# The curl example of the REST API documentation ("Accessing Host ID"), as printed there.
# run-samples.sh substitutes <SCS_ADDRESS>, <TOKEN> and <IP_ADDRESS>, nothing else.
curl -X GET -k https://<SCS_ADDRESS>/rest/appliances/host_id/<IP_ADDRESS> -H 'Authorization: Token <TOKEN>' -H 'Content-Type: application/json'
