"""Reading what a list page shows, for the tests of a list's count."""
from django.db import connection
from django.test.utils import CaptureQueriesContext


def listed_and_counted(client, url):
    """({names of the students listed}, the list's count, whether it counted the students' rows)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    listed = {student.name for student in response.context["students"]}
    counted = any('COUNT(*) AS "__count" FROM "students_student"' in query["sql"] for query in queries.captured_queries)
    return listed, response.context["paginator"].count, counted
