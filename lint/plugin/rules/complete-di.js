'use strict';

const { isType, isAnyType } = require('./helper');

/**
 * The diagram must open in Camunda Modeler as drawn: a BPMN diagram with a plane, a shape
 * with positive bounds for every flow node, participant and lane, and an edge with at
 * least two waypoints for every sequence flow and message flow.
 */
module.exports = function() {

  function collectSemantic(definitions) {
    const elements = [];

    function visitContainer(container) {
      for (const element of container.flowElements || []) {
        if (isAnyType(element, [ 'bpmn:FlowNode', 'bpmn:SequenceFlow' ])) {
          elements.push(element);
        }

        if (isType(element, 'bpmn:SubProcess')) {
          visitContainer(element);
        }
      }

      for (const laneSet of container.laneSets || []) {
        visitLaneSet(laneSet);
      }
    }

    function visitLaneSet(laneSet) {
      for (const lane of laneSet.lanes || []) {
        elements.push(lane);

        if (lane.childLaneSet) {
          visitLaneSet(lane.childLaneSet);
        }
      }
    }

    for (const root of definitions.rootElements || []) {
      if (isType(root, 'bpmn:Process')) {
        visitContainer(root);
      }

      if (isType(root, 'bpmn:Collaboration')) {
        elements.push(...(root.participants || []), ...(root.messageFlows || []));
      }
    }

    return elements;
  }

  function collectDi(definitions) {
    const shapes = new Map();
    const edges = new Map();
    let planes = 0;

    for (const diagram of definitions.diagrams || []) {
      const plane = diagram.plane;

      if (!plane || !plane.bpmnElement) {
        continue;
      }

      planes++;

      for (const di of plane.planeElement || []) {
        if (!di.bpmnElement) {
          continue;
        }

        if (isType(di, 'bpmndi:BPMNShape')) {
          shapes.set(di.bpmnElement.id, di);
        } else if (isType(di, 'bpmndi:BPMNEdge')) {
          edges.set(di.bpmnElement.id, di);
        }
      }
    }

    return { shapes, edges, planes };
  }

  function check(node, reporter) {
    if (!isType(node, 'bpmn:Definitions')) {
      return;
    }

    const { shapes, edges, planes } = collectDi(node);

    if (planes === 0) {
      reporter.report(node.id, 'Diagram has no BPMN DI (no bpmndi:BPMNDiagram with a plane): Camunda Modeler cannot show it');

      return;
    }

    for (const element of collectSemantic(node)) {
      const isConnection = isAnyType(element, [ 'bpmn:SequenceFlow', 'bpmn:MessageFlow' ]);

      if (isConnection) {
        const edge = edges.get(element.id);

        if (!edge) {
          reporter.report(element.id, 'Flow has no BPMN DI edge (bpmndi:BPMNEdge)');
        } else if (!edge.waypoint || edge.waypoint.length < 2) {
          reporter.report(element.id, 'Flow edge has fewer than two waypoints');
        }
      } else {
        const shape = shapes.get(element.id);
        const bounds = shape && shape.bounds;

        if (!shape) {
          reporter.report(element.id, 'Element has no BPMN DI shape (bpmndi:BPMNShape)');
        } else if (!bounds || !(bounds.width > 0) || !(bounds.height > 0)) {
          reporter.report(element.id, 'Element shape has no positive dc:Bounds');
        }
      }
    }

    return false;
  }

  return { check };
};
