"""Summit's release load test: GraphQL reads and writes and ingested events.

The release gate runs it for ten minutes at 400 users:

    summit-slo run --expect 10m -- locust -f tests/perf/locustfile.py \
        --headless -u 400 -r 40 -t 10m --host https://staging.summit.example

The mix follows production traffic: mostly entity reads and searches, some
relationship writes, and a steady stream of events posted to the ingest
endpoint. Every request is checked, so a GraphQL error (HTTP 200 with an
`errors` member) counts as a failure in Locust's statistics too.
"""

import random
import uuid

from locust import HttpUser, between, task

GET_ENTITY = """
query GetEntity($id: ID!) {
  entity(id: $id) { id name type relationships(first: 10) { id type target { id } } }
}
"""

SEARCH_ENTITIES = """
query SearchEntities($text: String!) {
  search(text: $text, first: 20) { id name type score }
}
"""

CREATE_RELATIONSHIP = """
mutation CreateRelationship($source: ID!, $target: ID!, $type: String!) {
  createRelationship(source: $source, target: $target, type: $type) { id }
}
"""

WORDS = ["alpha", "beacon", "cobalt", "delta", "ember", "fjord", "granite", "harbor"]


class SummitUser(HttpUser):
    """One analyst session against the API."""

    wait_time = between(0.05, 0.2)

    def graphql(self, operation, query, variables):
        payload = {"operationName": operation, "query": query, "variables": variables}
        with self.client.post("/graphql", json=payload, name=operation, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif response.json().get("errors"):
                response.failure(f"GraphQL errors: {response.json()['errors']}")
            else:
                response.success()

    @task(6)
    def get_entity(self):
        self.graphql("GetEntity", GET_ENTITY, {"id": f"e-{random.randint(1, 100_000)}"})

    @task(3)
    def search_entities(self):
        self.graphql("SearchEntities", SEARCH_ENTITIES, {"text": random.choice(WORDS)})

    @task(1)
    def create_relationship(self):
        self.graphql(
            "CreateRelationship",
            CREATE_RELATIONSHIP,
            {"source": f"e-{random.randint(1, 100_000)}", "target": f"e-{random.randint(1, 100_000)}", "type": "LINKS"},
        )

    @task(2)
    def post_event(self):
        event = {"id": str(uuid.uuid4()), "type": "entity.viewed", "entity": f"e-{random.randint(1, 100_000)}"}
        self.client.post("/events", json=event, name="events")
