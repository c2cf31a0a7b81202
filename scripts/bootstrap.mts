// npx zx scripts/bootstrap.mts --cluster kind|minikube|oke
// Preflight, cluster, Argo CD, hand-over to git, local CA, summary. Every step looks
// before it changes anything, so a re-run (or a run after Ctrl-C) resumes.
import { homedir } from "node:os";
import { COMMON_FLAGS, EXIT, configFromFlags, defaultDeps, runCommand, type CommandSpec, type Deps } from "./lib/cli.mts";
import { clusterProvider, type ClusterContext } from "./lib/clusters/index.mts";
import { APPLICATION, ARGOCD_NAMESPACE, ROOT_APP, argoCdRunning, diagnose, handOverFieldOwnership, handedOver, projectsForRepo, renderKustomization, rootApplication, waitForReady, watchApplications } from "./lib/argocd.mts";
import { UserError } from "./lib/errors.mts";
import { resolveGitSource } from "./lib/git.mts";
import { APP_IMAGE, buildAppImage, restartOnNewImage } from "./lib/image.mts";
import { ARGOCD_INSTALL, PROJECTS, printKubernetesPlan } from "./lib/plan.mts";
import { preflight, preflightError } from "./lib/preflight.mts";
import { ensureRepoCredentials } from "./lib/repository.mts";
import { scriptArguments, exit } from "./lib/runtime.mts";
import { day0Secrets, ensureNamespace, ensureSecret } from "./lib/secrets.mts";
import { configuredDestinations, ensureAlertSecrets } from "./lib/alerts.mts";
import { listApplications, printSummary } from "./lib/summary.mts";
import { exportLocalCa, localCaCommand, localCaPath, usesLocalCa } from "./lib/tls.mts";

export const BOOTSTRAP: CommandSpec = {
  name: "bootstrap",
  summary: "Create (or reuse) a cluster, install Argo CD and hand the cluster over to git.",
  flags: {
    cluster: COMMON_FLAGS.cluster,
    name: COMMON_FLAGS.name,
    repo: { type: "string", value: "URL", description: "git repository Argo CD deploys (GIT_REPO_URL, default: this checkout's origin)", setting: "gitRepoUrl" },
    revision: { type: "string", value: "BRANCH", description: "branch, tag or commit to deploy (GIT_REVISION, default: the current branch)", setting: "gitRevision" },
    timeout: { type: "string", value: "DURATION", description: "how long to wait for Argo CD and every Application, e.g. 900, 15m (BOOTSTRAP_TIMEOUT, default 20m)", setting: "timeoutSeconds" },
    "dry-run": { type: "boolean", description: "print every step, command and manifest it would apply; change nothing" },
    yes: COMMON_FLAGS.yes,
    help: COMMON_FLAGS.help,
  },
  examples: [
    "npx zx scripts/bootstrap.mts --cluster kind",
    "npx zx scripts/bootstrap.mts --cluster minikube --repo https://github.com/YOU/giropops-platform.git --revision main",
    "npx zx scripts/bootstrap.mts --cluster oke --yes",
    "npx zx scripts/bootstrap.mts --cluster oke   (OKE settings such as OKE_KUBERNETES_VERSION: .env.example)",
    "npx zx scripts/bootstrap.mts --cluster kind --dry-run",
  ],
};

export async function bootstrap(argv: string[], deps: Deps): Promise<number> {
  return runCommand(BOOTSTRAP, argv, deps, async ({ ui, runner, parsed }) => {
    const config = configFromFlags(BOOTSTRAP, parsed, deps);
    const dryRun = parsed.values["dry-run"] === true;
    const provider = clusterProvider(config.cluster);
    const cluster: ClusterContext = { config, runner, ui, root: deps.root, yes: parsed.values.yes === true, pollMs: deps.pollMs };
    const target = provider.target(config, deps.root);
    const github = config.githubToken ? deps.github(config.githubToken) : undefined;
    const timeoutMs = config.timeoutSeconds * 1000;
    // One deadline for everything bootstrap waits on in the cluster (Argo CD
    // ready, then every Application), set once the API answers: --timeout is
    // the whole wait, never once per step.
    let deadline = Number.POSITIVE_INFINITY;
    const wait = () => ({ timeoutMs: Math.max(0, deadline - Date.now()), pollMs: deps.pollMs });

    const source = await resolveGitSource(runner, deps.root, config);
    ui.line(`${dryRun ? "Plan for" : "Bootstrapping"} ${provider.label(config)} (context ${target.context}) from ${source.repoUrl} at ${source.revision}`);

    const report = await ui.step("Preflight", async (step) => {
      const reusing = await provider.exists(cluster);
      const result = await preflight({
        runner, config, root: deps.root, source, github, network: !dryRun, env: deps.env,
        tools: provider.tools,
        docker: provider.docker,
        hostPorts: reusing ? [] : (deps.hostPorts ?? provider.hostPorts(deps.root)),
      });
      if (result.problems.length && !dryRun) {
        // Unpushed commits may be why a check failed (a branch the remote lacks): keep them in sight.
        for (const warning of result.warnings) ui.warn(warning);
        throw preflightError(result.problems);
      }
      step.done(`${result.passed.length} checks passed${reusing ? `, reusing ${provider.label(config)}` : ""}`);
      return result;
    });
    for (const warning of report.warnings) ui.warn(warning);
    if (dryRun) {
      for (const problem of report.problems) ui.warn(`${problem.message} (fix: ${problem.fix}): a real run would stop here`);
      for (const skipped of report.skipped) ui.info(`would check: ${skipped}`);
    }

    await ui.step("Cluster", async (step) => step.done(await provider.ensure(cluster)));
    if (provider.loadImage) {
      await ui.step("App image", async (step) => {
        await buildAppImage(runner, deps.root);
        await provider.loadImage!(cluster, APP_IMAGE);
        step.done(`${dryRun ? "would build" : "built"} ${APP_IMAGE} and ${dryRun ? "load" : "loaded"} it into the nodes`);
      });
    }
    if (dryRun) {
      await printKubernetesPlan({ ui, runner, root: deps.root, config, source, target });
      ui.success("Dry run: nothing was changed.");
      return EXIT.ok;
    }

    const kube = deps.kube(target);
    await ui.step("Kubernetes API", async (step) => step.done(`${target.context} answers (${await kube.version()})`));
    deadline = Date.now() + timeoutMs;
    if (provider.loadImage) {
      await ui.step("App rollout", async (step) => step.done(await restartOnNewImage(kube, runner, APP_IMAGE)));
    }

    await ui.step("Argo CD", async (step) => {
      if ((await handedOver(kube)) && (await argoCdRunning(kube))) return step.done("runs and manages itself from git: left as it is");
      const argocd = await renderKustomization(runner, deps.root, ARGOCD_INSTALL);
      // Upstream's install.yaml brings no Namespace (argo-cd v3.5.1
      // manifests/install.yaml): the first namespaced object would get 404.
      await ensureNamespace(kube, ARGOCD_NAMESPACE);
      await kube.apply(argocd);
      await waitForReady(kube, argocd, { ...wait(), onProgress: step.update });
      step.done(`applied ${argocd.length} objects; CRDs Established, Deployments Available`);
    });

    const credentials = await ui.step("Repository access", async (step) => {
      const result = await ensureRepoCredentials({ kube, github, access: report.access, source, config });
      step.done(result.summary);
      return result;
    });

    await ui.step("Day-0 secrets", async (step) => {
      const outcomes = [];
      for (const secret of day0Secrets(config)) outcomes.push(await ensureSecret(kube, secret));
      for (const outcome of outcomes) if (outcome.warning) ui.warn(outcome.warning);
      step.done(outcomes.map((o) => `${o.name} ${o.outcome}`).join(", "));
    });

    const alerts = await ui.step("Alert destinations", async (step) => {
      const summary = await ensureAlertSecrets(kube, config);
      step.done(summary);
      if (configuredDestinations(config).length === 0) ui.warn(summary);
      return summary;
    });

    await ui.step("Hand over to git", async (step) => {
      const root = rootApplication({ ...config, gitRepoUrl: credentials.argoUrl, gitRevision: source.revision });
      // Project platform must list the repository before it admits root; once
      // root follows that repository, its own patches keep the projects so.
      const current = await kube.get(APPLICATION.apiVersion, APPLICATION.kind, ROOT_APP, ARGOCD_NAMESPACE);
      let projects = 0;
      if (current?.spec?.source?.repoURL !== credentials.argoUrl) {
        const rendered = projectsForRepo(await renderKustomization(runner, deps.root, PROJECTS), credentials.argoUrl);
        await kube.apply(rendered);
        projects = rendered.filter((o) => o.kind === "AppProject").length;
      }
      await kube.apply([root]);
      step.done(`${projects ? `${projects} AppProjects allow ${credentials.argoUrl}; ` : ""}root Application follows clusters/${config.cluster} at ${source.revision}`);
    });

    const stopSideWatch = provider.duringSync?.(kube, ui, config, deps.pollMs);
    const outcome = await ui
      .step("Applications", async (step) => {
        const result = await watchApplications(kube, { ...wait(), degradedGraceMs: deps.degradedGraceMs ?? provider.degradedGraceMs, patient: provider.patientApps, onProgress: step.update });
        if (result.outcome !== "done") throw new AppsNotHealthy(result.reason ?? `not all Synced and Healthy within ${config.timeoutSeconds}s (--timeout covers Argo CD and the Applications together)`, result.items);
        step.done("all Synced and Healthy");
        return result;
      })
      .finally(() => stopSideWatch?.())
      .catch((error: unknown) => {
        if (error instanceof AppsNotHealthy) return error;
        throw error;
      });

    if (!(outcome instanceof AppsNotHealthy)) {
      await ui.step("Field ownership", async (step) => {
        const handed = await handOverFieldOwnership(kube);
        step.done(handed.length ? `Argo CD alone owns the ${handed.length} day-0 object(s) it now applies from git` : "nothing left to hand over to Argo CD");
      });
    }

    const home = deps.home ?? homedir();
    if (usesLocalCa(config.cluster) && !(outcome instanceof AppsNotHealthy)) {
      await ui.step("Local CA", async (step) => {
        // Healthy cert-manager-issuers means the CA is issued; a little slack for its Secret.
        const ca = await exportLocalCa(kube, localCaPath(home, config), { timeoutMs: Math.min(timeoutMs, 120_000), pollMs: deps.pollMs });
        if (ca.outcome === "missing") {
          step.done("the CA certificate is not issued yet");
          ui.warn(`browsers will not trust https://*.${config.domain} until you trust the CA; write it later with: ${localCaCommand(target, ca.path)}`);
        } else step.done(`CA certificate (public part only) ${ca.outcome === "written" ? "written to" : "already in"} ${ca.path}`);
      });
    }

    printSummary(ui, config, target, outcome instanceof AppsNotHealthy ? outcome.apps : await listApplications(kube), { home, alerts });
    if (outcome instanceof AppsNotHealthy) {
      ui.section("Diagnosis");
      for (const line of await diagnose(kube, outcome.apps)) ui.line(line);
      ui.error(`the platform is not healthy: ${outcome.message}`);
      return EXIT.failed;
    }
    ui.success(`${provider.label(config)} is ready.`);
    return EXIT.ok;
  });
}

class AppsNotHealthy extends UserError {
  readonly apps: Parameters<typeof diagnose>[1];
  constructor(message: string, apps: Parameters<typeof diagnose>[1]) {
    super(message);
    this.apps = apps;
  }
}

const args = scriptArguments(import.meta.url);
if (args) exit(await bootstrap(args, defaultDeps()));
