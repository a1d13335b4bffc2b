# The Python example of the REST API documentation ("Accessing Host ID"), as printed there.
# run-samples.sh substitutes <SCS_ADDRESS>, <TOKEN> and <HOST_IP>, nothing else.
import requests
headers = {'Authorization': 'Token <TOKEN>', 'Content-Type': 'application/json'}
res = requests.get('https://<SCS_ADDRESS>/rest/appliances/host_id/<HOST_IP>', params={}, verify=False, headers=headers)
print(res.text)
