#!/usr/bin/env bash
# The generic curl example of the REST API documentation ("Accessing the REST-API"), as
# printed there. run-samples.sh substitutes <SCS_ADDRESS>, <ENDPOINT>, <OPTIONAL_PARAMETERS>
# and <TOKEN>, nothing else.
curl -X GET -k https://<SCS_ADDRESS>/rest/<ENDPOINT>/<OPTIONAL_PARAMETERS> -H 'Authorization: Token <TOKEN>' -H 'Content-Type: application/json'
