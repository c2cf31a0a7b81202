"""Load test for Giropops Senhas.

Mostly generates passwords (as people do on the page), sometimes lists the
recent ones. Each response is checked for status and shape; anything else is
a failure in Locust's statistics. Uses only the API shared by Locust 2.12
(Debian) and 2.32 (the in-cluster image).

    locust -f apps/locust/locustfile.py --headless -u 50 -r 10 -t 1m --host http://senhas.localhost
"""

import random
import string

from locust import HttpUser, between, task

ALLOWED = set(string.ascii_letters + string.digits + string.punctuation)


class SenhasUser(HttpUser):
    # A person reads the password, copies it, maybe asks for another.
    wait_time = between(1, 3)

    @task(5)
    def gerar_senha(self):
        tamanho = random.choice([8, 12, 16, 24, 32])
        payload = {
            "tamanho": tamanho,
            "incluir_numeros": random.random() < 0.8,
            "incluir_caracteres_especiais": random.random() < 0.6,
        }
        with self.client.post("/api/gerar-senha", json=payload, name="POST /api/gerar-senha", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}: {response.text[:200]}")
                return
            try:
                senha = response.json()["senha"]
            except (ValueError, KeyError, TypeError):
                response.failure(f"unexpected body: {response.text[:200]}")
                return
            if not isinstance(senha, str) or len(senha) != tamanho or not set(senha) <= ALLOWED:
                response.failure(f"bad password for tamanho={tamanho}: {senha!r}")
            elif payload["incluir_numeros"] != any(c in string.digits for c in senha):
                response.failure("digits requested but missing" if payload["incluir_numeros"] else "digits present but not requested")
            elif payload["incluir_caracteres_especiais"] != any(c in string.punctuation for c in senha):
                response.failure(
                    "punctuation requested but missing" if payload["incluir_caracteres_especiais"] else "punctuation present but not requested"
                )
            else:
                response.success()

    @task(1)
    def listar_senhas(self):
        with self.client.get("/api/senhas", name="GET /api/senhas", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}: {response.text[:200]}")
                return
            try:
                senhas = response.json()
            except ValueError:
                response.failure(f"not JSON: {response.text[:200]}")
                return
            ok = (
                isinstance(senhas, list)
                and len(senhas) <= 10
                and [item.get("id") for item in senhas if isinstance(item, dict)] == list(range(1, len(senhas) + 1))
                and all(isinstance(item.get("senha"), str) for item in senhas)
            )
            if ok:
                response.success()
            else:
                response.failure(f"unexpected list: {response.text[:200]}")
