/**
 * The operations scenarios are made of: each tells the kernel (through
 * refprobe) and the model the same thing, then checks the reading.
 */
import { DeviceModel } from '../model/device.js';
import type { ScenarioContext, StepRecord } from './scenario.js';

export function newDevice(ctx: ScenarioContext, name: string): DeviceModel {
  return new DeviceModel(name, ctx.info.variant, ctx.info.topology, ctx.info.tracker);
}

export async function alloc(ctx: ScenarioContext, dev: DeviceModel, cpu: number): Promise<StepRecord> {
  await ctx.probe.must(`alloc ${dev.name} ${cpu}`);
  dev.alloc(cpu);
  return ctx.steps.check(`alloc ${dev.name} on CPU ${cpu}`, dev, { cpu });
}

/** Registers and measures the baseline: the one reading the model adopts instead of predicting. */
export async function register(ctx: ScenarioContext, dev: DeviceModel, cpu: number): Promise<StepRecord> {
  await ctx.probe.must(`register ${dev.name} ${cpu}`);
  dev.register();
  const reading = await ctx.probe.device(dev.name);
  const baseline = reading ? dev.adoptBaseline(reading) : Number.NaN;
  return ctx.steps.check(`register ${dev.name} on CPU ${cpu} (baseline measured)`, dev, {
    cpu,
    reading,
    note: `baseline: ${baseline} references after register_netdev`,
  });
}

/** The highest online CPU: a CPU other than 0 whenever there is one. */
export function lastOnlineCpu(ctx: ScenarioContext): number {
  const online = ctx.info.topology.online;
  return online[online.length - 1] ?? 0;
}

/** The usual start: a device allocated and registered on the first online CPU, baseline measured. */
export async function registeredDevice(ctx: ScenarioContext, name: string): Promise<DeviceModel> {
  const cpu = ctx.info.topology.online[0] ?? 0;
  const dev = newDevice(ctx, name);
  await alloc(ctx, dev, cpu);
  await register(ctx, dev, cpu);
  return dev;
}

export async function hold(ctx: ScenarioContext, dev: DeviceModel, cpu: number, count: number): Promise<StepRecord> {
  await ctx.probe.must(`hold ${dev.name} ${cpu} ${count}`);
  dev.hold(cpu, count);
  return ctx.steps.check(`hold ${dev.name} x${count} on CPU ${cpu}`, dev, { cpu });
}

export async function put(ctx: ScenarioContext, dev: DeviceModel, cpu: number, count: number): Promise<StepRecord> {
  await ctx.probe.must(`put ${dev.name} ${cpu} ${count}`);
  dev.put(cpu, count);
  return ctx.steps.check(`put ${dev.name} x${count} on CPU ${cpu}`, dev, { cpu });
}

export async function unregister(ctx: ScenarioContext, dev: DeviceModel): Promise<StepRecord> {
  await ctx.probe.must(`unregister ${dev.name}`);
  dev.unregisterStarted();
  dev.unregisterCompleted();
  return ctx.steps.check(`unregister ${dev.name} (waits for the count to reach 1)`, dev);
}

export async function free(ctx: ScenarioContext, dev: DeviceModel): Promise<StepRecord> {
  await ctx.probe.must(`free ${dev.name}`);
  dev.free();
  return ctx.steps.check(`free ${dev.name} (the device is gone)`, dev);
}
